package extracts

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/i18n"
	"github.com/ticksapp/ticks/internal/reports"
)

// Mailer sends the e-mail that tells a requester their extraction is done,
// through an SMTP server (TICKS_SMTP_ADDR and the settings beside it). It
// upgrades the connection with STARTTLS when the server offers it, and
// logs in (PLAIN) when it has a user name, which net/smtp allows only over
// TLS or to localhost.
type Mailer struct {
	Addr     string // host:port
	From     string // the sender's address, as "Name <addr>" or "addr"
	Username string
	Password string
	// TLSConfig is used for STARTTLS; nil checks the server's certificate
	// against Addr's host.
	TLSConfig *tls.Config
}

// mailTimeout bounds one message's whole conversation with the server.
const mailTimeout = 30 * time.Second

// Send sends one plain-text message to the address to.
func (m *Mailer) Send(ctx context.Context, to, subject, body string) error {
	from, err := mail.ParseAddress(m.From)
	if err != nil {
		return fmt.Errorf("mail: sender %q: %w", m.From, err)
	}
	rcpt, err := mail.ParseAddress(to)
	if err != nil {
		return fmt.Errorf("mail: recipient %q: %w", to, err)
	}
	host, _, err := net.SplitHostPort(m.Addr)
	if err != nil {
		return fmt.Errorf("mail: server %q: %w", m.Addr, err)
	}
	ctx, cancel := context.WithTimeout(ctx, mailTimeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", m.Addr)
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("mail: %w", err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := m.TLSConfig
		if cfg == nil {
			cfg = &tls.Config{ServerName: host}
		}
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("mail: starttls: %w", err)
		}
	}
	if m.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", m.Username, m.Password, host)); err != nil {
			return fmt.Errorf("mail: login: %w", err)
		}
	}
	if err := c.Mail(from.Address); err != nil {
		return fmt.Errorf("mail: from: %w", err)
	}
	if err := c.Rcpt(rcpt.Address); err != nil {
		return fmt.Errorf("mail: to: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	if _, err := w.Write(message(from, rcpt, subject, body, time.Now())); err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	return c.Quit()
}

// message is an RFC 5322 message: UTF-8 text, quoted-printable, the
// subject encoded as RFC 2047 asks when it is not ASCII.
func message(from, to *mail.Address, subject, body string, date time.Time) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\n", from, to,
		mime.QEncoding.Encode("utf-8", strings.NewReplacer("\r", " ", "\n", " ").Replace(subject)), date.Format(time.RFC1123Z))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(strings.ReplaceAll(body, "\n", "\r\n")))
	qp.Close()
	return b.Bytes()
}

// Email tells the requester of extraction id, when a web user with an
// e-mail address asked for it, that it is ready or failed, in their
// language. An extraction deleted since, or asked for by an API token, is
// told nothing.
func (s *Service) Email(ctx context.Context, id int64) error {
	if s.Mail == nil {
		return nil
	}
	e, err := s.Store.Extraction(ctx, id)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	if e.UserID == 0 {
		return nil
	}
	u, err := s.Store.User(ctx, e.UserID)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	if u.Email == "" || u.Disabled {
		return nil
	}
	subject, body := mailText(u.Lang, s.Location, e)
	return s.Mail.Send(ctx, u.Email, subject, body)
}

// mailText is the message about e in lang, its times in loc.
func mailText(lang string, loc *time.Location, e *domain.Extraction) (subject, body string) {
	title := Title(lang, e.Type)
	if e.Status != domain.ExtractionReady {
		return i18n.T(lang, "extract.mail.failed.subject", title),
			i18n.T(lang, "extract.notice.failed", title, e.From, e.To, e.Error) + "\n\n" + i18n.T(lang, "extract.mail.where") + "\n"
	}
	body = i18n.T(lang, "extract.notice.ready", title, e.From, e.To, reports.FormatCount(lang, e.RowsWritten)) + "\n\n" +
		i18n.T(lang, "extract.mail.file", DownloadName(e), reports.FormatCount(lang, e.Bytes))
	if e.ExpiresAt != nil {
		body += "\n" + i18n.T(lang, "extract.mail.expires", reports.FormatTime(*e.ExpiresAt, loc, reports.TimeLayout(lang)))
	}
	return i18n.T(lang, "extract.mail.ready.subject", title), body + "\n\n" + i18n.T(lang, "extract.mail.where") + "\n"
}

// MailArgs is the job that e-mails the requester of one extraction.
type MailArgs struct {
	ID int64 `json:"id"`
}

// Kind names the job in River's tables.
func (MailArgs) Kind() string { return "extraction_mail" }

// InsertOpts retries a server that refuses for a few hours (River's
// back-off), not for days: a late e-mail about a file that expires in a
// week is still worth sending, one about an expired file is not.
func (MailArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 8} }

type mailWorker struct {
	river.WorkerDefaults[MailArgs]
	svc *Service
}

func (w *mailWorker) Work(ctx context.Context, job *river.Job[MailArgs]) error {
	return w.svc.Email(ctx, job.Args.ID)
}
