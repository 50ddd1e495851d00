package extracts_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/extracts"
)

// smtpServer is an SMTP server in the test's process: it speaks enough of
// RFC 5321 for net/smtp (EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT) and
// keeps what it is sent.
type smtpServer struct {
	ln   net.Listener
	mu   sync.Mutex
	got  []sentMail
	done sync.WaitGroup
}

type sentMail struct {
	auth, from string
	to         []string
	data       string
}

func newSMTPServer(t *testing.T) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln}
	t.Cleanup(func() { ln.Close(); s.done.Wait() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.done.Add(1)
			go func() { defer s.done.Done(); s.serve(c) }()
		}
	}()
	return s
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	say := func(line string) { fmt.Fprintf(c, "%s\r\n", line) }
	say("220 test.example ESMTP")
	var m sentMail
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			say("250-test.example")
			say("250-8BITMIME")
			say("250 AUTH PLAIN")
		case "AUTH":
			_, cred, _ := strings.Cut(arg, " ")
			b, _ := base64.StdEncoding.DecodeString(cred)
			m.auth = string(b)
			say("235 2.7.0 accepted")
		case "MAIL":
			m.from = arg
			say("250 ok")
		case "RCPT":
			m.to = append(m.to, arg)
			say("250 ok")
		case "DATA":
			say("354 go ahead")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, "."))
			}
			m.data = b.String()
			s.mu.Lock()
			s.got = append(s.got, m)
			s.mu.Unlock()
			m = sentMail{}
			say("250 queued")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("502 not here")
		}
	}
}

func (s *smtpServer) sent() []sentMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sentMail(nil), s.got...)
}

// read parses a message as a mail client does: its headers, its subject
// decoded, its quoted-printable body.
func read(t *testing.T, data string) (h mail.Header, subject, body string) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatalf("%v in\n%s", err, data)
	}
	subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	if ct := msg.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	b, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	return msg.Header, subject, string(b)
}

// TestEmail: once an extraction is done, the web user who asked for it gets
// an e-mail in their language through the configured SMTP server, logged
// in: ready (the table, the period, rows, the file, until when it is kept)
// or failed (why). An extraction asked for with an API token, or by a user
// without an address, sends nothing.
func TestEmail(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	srv := newSMTPServer(t)
	fx.svc.Mail = &extracts.Mailer{Addr: srv.ln.Addr().String(), From: "ticks <ticks@empresa.example>",
		Username: "ticks", Password: "s3cret"}
	p := fx.shopUser()

	ready := fx.extract(t, p, extracts.Input{Type: "notifications_summary", From: "2026-11-20", To: "2026-11-20"})
	if err := fx.svc.Email(ctx, ready.ID); err != nil {
		t.Fatal(err)
	}
	got := srv.sent()
	if len(got) != 1 {
		t.Fatalf("%d messages, want 1", len(got))
	}
	if got[0].auth != "\x00ticks\x00s3cret" || !strings.HasPrefix(got[0].from, "FROM:<ticks@empresa.example>") ||
		len(got[0].to) != 1 || got[0].to[0] != "TO:<ana@loja.example>" {
		t.Errorf("envelope: auth %q, from %q, to %q", got[0].auth, got[0].from, got[0].to)
	}
	h, subject, body := read(t, got[0].data)
	if h.Get("To") != "<ana@loja.example>" || !strings.Contains(h.Get("From"), "ticks@empresa.example") {
		t.Errorf("headers To %q, From %q", h.Get("To"), h.Get("From"))
	}
	e, err := fx.svc.Get(ctx, p, ready.ID)
	if err != nil {
		t.Fatal(err)
	}
	title := extracts.Title("pt-BR", "notifications_summary")
	for _, want := range []string{title, "2026-11-20", fmt.Sprintf("%d linhas", e.RowsWritten), extracts.DownloadName(e),
		"Disponível até " + e.ExpiresAt.In(fx.loc).Format("02/01/2006 15:04:05"), "Gerenciador de relatórios"} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	if subject != "ticks: extração pronta — "+title {
		t.Errorf("subject %q", subject)
	}

	// Failed, to a user who reads English.
	if err := fx.st.SetUserLang(ctx, fx.user, "en"); err != nil {
		t.Fatal(err)
	}
	failed, err := fx.svc.Request(ctx, p, extracts.Input{Type: "event_tracks", From: "2026-11-20", To: "2026-11-20"})
	if err != nil {
		t.Fatal(err)
	}
	if err := fx.svc.Fail(ctx, failed.ID, domain.Errorf(domain.EINVALID, "disk full")); err != nil {
		t.Fatal(err)
	}
	if err := fx.svc.Email(ctx, failed.ID); err != nil {
		t.Fatal(err)
	}
	if got = srv.sent(); len(got) != 2 {
		t.Fatalf("%d messages, want 2", len(got))
	}
	_, subject, body = read(t, got[1].data)
	if subject != "ticks: extraction failed — "+extracts.Title("en", "event_tracks") || !strings.Contains(body, "disk full") ||
		!strings.Contains(body, "Report manager") {
		t.Errorf("failed: subject %q, body:\n%s", subject, body)
	}

	// Asked for with an API token: nobody to write to.
	bot := &access.Principal{Role: domain.RoleSupervisor, TokenID: fx.bot, Scope: []int64{fx.shop}}
	byBot := fx.extract(t, bot, extracts.Input{Type: "notifications_users", From: "2026-11-20", To: "2026-11-20"})
	if err := fx.svc.Email(ctx, byBot.ID); err != nil {
		t.Fatal(err)
	}
	// A server that is not there is an error, for the job to retry.
	fx.svc.Mail.Addr = "127.0.0.1:1"
	if err := fx.svc.Email(ctx, ready.ID); err == nil {
		t.Error("no error from a server that is not listening")
	}
	if got = srv.sent(); len(got) != 2 {
		t.Errorf("%d messages, want 2", len(got))
	}
}
