package config

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Defaults that methods of a zero Config also fall back to.
const (
	defaultDataDir  = "./ticks-data"
	defaultTimeZone = "America/Sao_Paulo"
)

// setting is one configuration value: its variable, its flag, its default
// and how its text becomes a field of Config.
type setting struct {
	env      string // environment variable
	flag     string // command-line flag, without the dash
	def      string // default, as text ("" for none)
	usage    string
	fromFile bool // also read from the file named by env + "_FILE"
	secret   bool // never shown; parse must not fail, so no error repeats it
	parse    func(c *Config, text string) error
}

// settings lists every setting in the order -h shows them. SPEC.md section 5
// fixes the names of the first eight; keep them stable.
var settings = []setting{
	{
		env: "TICKS_ADDR", flag: "addr", def: ":8080",
		usage: "HTTP listen address, host:port",
		parse: func(c *Config, s string) error {
			if err := checkAddr(s); err != nil {
				return err
			}
			c.Addr = s
			return nil
		},
	},
	{
		env: "TICKS_DATABASE_URL", flag: "database-url",
		usage:    "database: a SQLite file path or sqlite://path (default <data-dir>/ticks.db), or postgres://…",
		fromFile: true, // a PostgreSQL URL carries its password
		parse: func(c *Config, s string) error {
			if err := checkDatabaseURL(s); err != nil {
				return err
			}
			c.DatabaseURL = s
			return nil
		},
	},
	{
		env: "TICKS_DATA_DIR", flag: "data-dir", def: defaultDataDir,
		usage: "directory for the SQLite database, exports and uploads",
		parse: func(c *Config, s string) error { c.DataDir = s; return nil },
	},
	{
		env: "TICKS_SECRET_KEY", flag: "secret-key", fromFile: true, secret: true,
		usage: "key encrypting channel access tokens at rest, at least 16 random characters",
		parse: func(c *Config, s string) error { c.SecretKey = s; return nil },
	},
	{
		env: "TICKS_WA_APP_SECRET", flag: "wa-app-secret", fromFile: true, secret: true,
		usage: "Meta app secret, to check webhook signatures",
		parse: func(c *Config, s string) error { c.WAAppSecret = s; return nil },
	},
	{
		env: "TICKS_WA_VERIFY_TOKEN", flag: "wa-verify-token", fromFile: true, secret: true,
		usage: "token Meta sends in the webhook verification handshake",
		parse: func(c *Config, s string) error { c.WAVerifyToken = s; return nil },
	},
	{
		env: "TICKS_WA_API_BASE", flag: "wa-api-base", def: "https://graph.facebook.com/v23.0",
		usage: "WhatsApp Cloud API base URL, with the Graph API version",
		parse: func(c *Config, s string) error {
			base, err := parseAPIBase(s)
			if err != nil {
				return err
			}
			c.WAAPIBase = base
			return nil
		},
	},
	{
		env: "TICKS_ADMIN_TOKEN", flag: "admin-token", fromFile: true, secret: true,
		usage: "API token with admin rights on the whole organization",
		parse: func(c *Config, s string) error { c.AdminToken = s; return nil },
	},
	{
		env: "TICKS_LOG_LEVEL", flag: "log-level", def: "info",
		usage: "log level: debug, info, warn or error",
		parse: func(c *Config, s string) error {
			var l slog.Level
			if err := l.UnmarshalText([]byte(s)); err != nil {
				return fmt.Errorf("invalid log level %q: want debug, info, warn or error", s)
			}
			c.LogLevel = l
			return nil
		},
	},
	{
		env: "TICKS_LOG_FORMAT", flag: "log-format", def: LogFormatText,
		usage: "log format: text or json",
		parse: func(c *Config, s string) error {
			f := strings.ToLower(s)
			if f != LogFormatText && f != LogFormatJSON {
				return fmt.Errorf("invalid log format %q: want text or json", s)
			}
			c.LogFormat = f
			return nil
		},
	},
	{
		env: "TICKS_WEBHOOK_MAX_BYTES", flag: "webhook-max-bytes", def: "1MiB",
		usage: "largest webhook body accepted, in bytes or with KiB, MiB, GiB",
		parse: func(c *Config, s string) error {
			n, err := parseByteSize(s)
			if err != nil {
				return err
			}
			c.WebhookMaxBytes = n
			return nil
		},
	},
	{
		env: "TICKS_INBOX_RETENTION", flag: "inbox-retention", def: "168h",
		usage: "how long raw webhook payloads are kept, like 168h or 7d",
		parse: func(c *Config, s string) error {
			d, err := parseRetention(s)
			if err != nil {
				return err
			}
			c.InboxRetention = d
			return nil
		},
	},
	{
		env: "TICKS_TIMEZONE", flag: "timezone", def: defaultTimeZone,
		usage: "IANA time zone of reports' days and months",
		parse: func(c *Config, s string) error {
			loc, err := time.LoadLocation(s)
			if err != nil {
				return fmt.Errorf("unknown time zone %q: want an IANA name like America/Sao_Paulo", s)
			}
			c.TimeZone, c.location = s, loc
			return nil
		},
	},
	{
		env: "TICKS_MESSAGE_TTL", flag: "message-ttl", def: "24h",
		usage: "how long a sent message may stay undelivered before it counts as expired (ttl_expired)",
		parse: func(c *Config, s string) error {
			d, err := parseRetention(s)
			if err != nil {
				return err
			}
			c.MessageTTL = d
			return nil
		},
	},
	{
		env: "TICKS_OPTOUT_KEYWORDS", flag: "optout-keywords", def: "SAIR,PARAR,STOP",
		usage: "comma-separated texts that opt a contact out when it sends one of them",
		parse: func(c *Config, s string) error {
			c.OptOutKeywords = nil
			for _, k := range strings.Split(s, ",") {
				if k = strings.TrimSpace(k); k != "" {
					c.OptOutKeywords = append(c.OptOutKeywords, k)
				}
			}
			return nil
		},
	},
	{
		env: "TICKS_RATE_CARD", flag: "rate-card", def: "",
		usage: "a JSON rate card (Meta's prices per market, model, category and period) replacing the one ticks ships",
		parse: func(c *Config, s string) error {
			c.RateCard = s
			return nil
		},
	},
	{
		env: "TICKS_SQLITE_SYNC", flag: "sqlite-sync", def: "normal",
		usage: "SQLite durability: normal (survives a process crash) or full (also a power loss; slower on slow disks)",
		parse: func(c *Config, s string) error {
			if s != "normal" && s != "full" {
				return fmt.Errorf("%q: want normal or full", s)
			}
			c.SQLiteSync = s
			return nil
		},
	},
	{
		env: "TICKS_EXTRACTION_KEEP", flag: "extraction-keep", def: "7d",
		usage: "how long the report manager keeps an extraction's file once it is ready",
		parse: func(c *Config, s string) error {
			d, err := parseRetention(s)
			if err != nil {
				return err
			}
			c.ExtractionKeep = d
			return nil
		},
	},
	{
		env: "TICKS_EXTRACTION_COMPRESS_ABOVE", flag: "extraction-compress-above", def: "32MiB",
		usage: "the size past which the report manager gzips a CSV extraction (its name then ends in .csv.gz)",
		parse: func(c *Config, s string) error {
			n, err := parseByteSize(s)
			if err != nil {
				return err
			}
			c.ExtractionCompressAbove = n
			return nil
		},
	},
	{
		env: "TICKS_EXTRACTION_WEBHOOK", flag: "extraction-webhook", fromFile: true,
		usage: "a URL the report manager POSTs to when an extraction is ready or failed (it may carry a token)",
		parse: func(c *Config, s string) error {
			if s == "" {
				return nil
			}
			if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("want an http or https URL")
			}
			c.ExtractionWebhook = s
			return nil
		},
	},
	{
		env: "TICKS_EXTRACTION_S3", flag: "extraction-s3",
		usage: "an S3-compatible bucket for the extractions' files, http(s)://host[:port]/bucket[?region=…], shared by several servers",
		parse: func(c *Config, s string) error {
			if s == "" {
				return nil
			}
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") == "" ||
				strings.Contains(strings.Trim(u.Path, "/"), "/") || u.User != nil {
				return fmt.Errorf("want http(s)://host[:port]/bucket, the keys in TICKS_EXTRACTION_S3_ACCESS_KEY and _SECRET_KEY")
			}
			c.ExtractionS3 = s
			return nil
		},
	},
	{
		env: "TICKS_EXTRACTION_STALE_AFTER", flag: "extraction-stale-after", def: "2m",
		usage: "how long an extraction's run may stay silent (its process died) before a server starts it over",
		parse: func(c *Config, s string) error {
			d, err := parseRetention(s)
			if err != nil {
				return err
			}
			c.ExtractionStaleAfter = d
			return nil
		},
	},
	{
		env: "TICKS_EXTRACTION_S3_ACCESS_KEY", flag: "extraction-s3-access-key", fromFile: true, secret: true,
		usage: "the access key of TICKS_EXTRACTION_S3's bucket",
		parse: func(c *Config, s string) error { c.ExtractionS3AccessKey = s; return nil },
	},
	{
		env: "TICKS_EXTRACTION_S3_SECRET_KEY", flag: "extraction-s3-secret-key", fromFile: true, secret: true,
		usage: "the secret key of TICKS_EXTRACTION_S3's bucket",
		parse: func(c *Config, s string) error { c.ExtractionS3SecretKey = s; return nil },
	},
	{
		env: "TICKS_SMTP_ADDR", flag: "smtp-addr",
		usage: "an SMTP server, host:port, that e-mails a web user when their extraction is ready or failed (STARTTLS when it offers it)",
		parse: func(c *Config, s string) error {
			if s == "" {
				return nil
			}
			if host, _, err := net.SplitHostPort(s); err != nil || host == "" {
				return fmt.Errorf("want host:port, like smtp.example.com:587")
			}
			if err := checkAddr(s); err != nil {
				return err
			}
			c.SMTPAddr = s
			return nil
		},
	},
	{
		env: "TICKS_SMTP_FROM", flag: "smtp-from",
		usage: "the sender of TICKS_SMTP_ADDR's e-mails, an address or Name <address> (needed with TICKS_SMTP_ADDR)",
		parse: func(c *Config, s string) error {
			if s == "" {
				return nil
			}
			if _, err := mail.ParseAddress(s); err != nil {
				return fmt.Errorf("want an e-mail address: %v", err)
			}
			c.SMTPFrom = s
			return nil
		},
	},
	{
		env: "TICKS_SMTP_USERNAME", flag: "smtp-username", fromFile: true,
		usage: "the user TICKS_SMTP_ADDR is logged in as (PLAIN, over TLS only), none when empty",
		parse: func(c *Config, s string) error { c.SMTPUsername = s; return nil },
	},
	{
		env: "TICKS_SMTP_PASSWORD", flag: "smtp-password", fromFile: true, secret: true,
		usage: "the password of TICKS_SMTP_USERNAME",
		parse: func(c *Config, s string) error { c.SMTPPassword = s; return nil },
	},
}

// checkAddr accepts what net.Listen("tcp", …) accepts with a numeric port,
// so a typo fails at start-up with the variable's name, not at listen time.
func checkAddr(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("invalid address %q: want host:port, like :8080 or 127.0.0.1:8080", s)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("invalid address %q: port must be a number from 0 to 65535", s)
	}
	return nil
}

// checkDatabaseURL refuses schemes ticks cannot open and SQLite URLs it
// would half-honour. Messages show the scheme, never the URL, which may
// hold a password.
func checkDatabaseURL(s string) error {
	if isPostgresURL(s) {
		u, err := url.Parse(s)
		if err != nil {
			var uerr *url.Error
			if errors.As(err, &uerr) {
				err = uerr.Err // url.Error repeats the whole URL, password included
			}
			return fmt.Errorf("invalid PostgreSQL URL: %v", err)
		}
		if u.Host == "" && u.Query().Get("host") == "" {
			return errors.New("invalid PostgreSQL URL: no host")
		}
		return nil
	}
	for _, p := range sqlitePrefixes {
		if !hasPrefixFold(s, p) {
			continue
		}
		path := s[len(p):]
		if path == "" {
			return fmt.Errorf("invalid SQLite URL %q: no file path", s)
		}
		if strings.Contains(path, "?") {
			// ticks sets its own pragmas (WAL, busy timeout, foreign
			// keys); silently dropping the user's would be worse.
			return fmt.Errorf("invalid SQLite URL %q: query parameters are not supported", s)
		}
		return nil
	}
	if scheme, _, ok := strings.Cut(s, "://"); ok {
		return fmt.Errorf("unsupported database scheme %q: want a SQLite path, sqlite://, postgres:// or postgresql://", scheme)
	}
	return nil
}

// parseAPIBase accepts an http or https URL (http for the simulator on
// localhost) and drops a trailing slash, so callers can append "/"+path.
func parseAPIBase(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("invalid URL %q: want http(s)://host[/version]", s)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("invalid URL %q: no query, fragment or credentials allowed", s)
	}
	return strings.TrimRight(s, "/"), nil
}

// byteUnits are the size suffixes parseByteSize accepts, binary only:
// "MB" would leave readers guessing between 10^6 and 2^20.
var byteUnits = []struct {
	suffix string
	size   int64
}{
	{"GiB", 1 << 30},
	{"MiB", 1 << 20},
	{"KiB", 1 << 10},
	{"B", 1},
}

// parseByteSize reads a positive size: a number of bytes, optionally with
// a KiB, MiB or GiB suffix ("1048576", "1MiB").
func parseByteSize(s string) (int64, error) {
	bad := fmt.Errorf("invalid size %q: want a positive number of bytes, like 1048576 or 1MiB", s)
	digits, unit := strings.TrimSpace(s), int64(1)
	for _, u := range byteUnits {
		if d, ok := strings.CutSuffix(digits, u.suffix); ok {
			digits, unit = strings.TrimSpace(d), u.size
			break
		}
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/unit {
		return 0, bad
	}
	return n * unit, nil
}

// parseRetention reads a positive duration in Go's syntax ("168h", "90m"),
// optionally led by whole days ("7d", "1d12h"), since retention is thought
// of in days and Go durations have no day unit.
func parseRetention(s string) (time.Duration, error) {
	bad := fmt.Errorf("invalid duration %q: want a positive duration like 168h, 7d or 1d12h", s)
	var days int64
	rest := s
	if before, after, ok := strings.Cut(s, "d"); ok {
		n, err := strconv.ParseInt(before, 10, 64)
		if err != nil || n < 0 || n > math.MaxInt64/int64(24*time.Hour) {
			return 0, bad
		}
		days, rest = n, after
	}
	var d time.Duration
	if rest != "" {
		var err error
		if d, err = time.ParseDuration(rest); err != nil || d < 0 {
			return 0, bad
		}
	}
	total := time.Duration(days)*24*time.Hour + d
	if total <= 0 || total < d { // total < d: overflow
		return 0, bad
	}
	return total, nil
}

// printUsage lists every flag beside its variable and default. Defaults of
// secrets are never shown; there are none to show anyway.
func printUsage(w io.Writer) {
	fmt.Fprint(w, `Flags (each overrides the environment variable beside it; an empty variable
counts as unset; variables marked * can instead name a file with <VAR>_FILE):

`)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, s := range settings {
		env := s.env
		if s.fromFile {
			env += " *"
		}
		usage := s.usage
		if s.def != "" && !s.secret {
			usage += fmt.Sprintf(" (default %q)", s.def)
		}
		fmt.Fprintf(tw, "  -%s\t%s\t%s\n", s.flag, env, usage)
	}
	_ = tw.Flush()
}
