// Package config reads ticks' configuration: environment variables first,
// then command-line flags of the same meaning, into one typed, validated
// Config.
//
// The variables are parsed by hand from one table (settings.go) rather than
// with caarlos0/env: Load gets a getenv function that cannot be enumerated,
// so the list of names has to be written down anyway, and the same table
// then drives the flags, the *_FILE variants, the -h text and the error
// messages, with no struct tags to keep in step.
package config

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	// Embedded zone data, so TICKS_TIMEZONE works in minimal containers
	// that ship no /usr/share/zoneinfo.
	_ "time/tzdata"
)

// Database dialects returned by Config.Dialect.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// Log formats accepted in Config.LogFormat.
const (
	LogFormatText = "text"
	LogFormatJSON = "json"
)

// sqliteFileName is the database file inside DataDir when
// TICKS_DATABASE_URL is not set.
const sqliteFileName = "ticks.db"

// Config is the whole configuration of a ticks process. Build it with Load;
// a zero Config is usable in tests, with the defaults applied by its methods.
type Config struct {
	Addr            string        // TICKS_ADDR: HTTP listen address
	DatabaseURL     string        // TICKS_DATABASE_URL: "" means <DataDir>/ticks.db
	DataDir         string        // TICKS_DATA_DIR: SQLite database, exports, uploads
	SecretKey       string        // TICKS_SECRET_KEY: encrypts channel tokens at rest
	WAAppSecret     string        // TICKS_WA_APP_SECRET: checks webhook signatures
	WAVerifyToken   string        // TICKS_WA_VERIFY_TOKEN: answers Meta's webhook handshake
	WAAPIBase       string        // TICKS_WA_API_BASE: Graph API base URL, with version, no trailing slash
	AdminToken      string        // TICKS_ADMIN_TOKEN: API token with admin rights on the organization
	LogLevel        slog.Level    // TICKS_LOG_LEVEL
	LogFormat       string        // TICKS_LOG_FORMAT: LogFormatText or LogFormatJSON
	WebhookMaxBytes int64         // TICKS_WEBHOOK_MAX_BYTES: larger webhook bodies are refused
	InboxRetention  time.Duration // TICKS_INBOX_RETENTION: how long raw webhook payloads are kept
	TimeZone        string        // TICKS_TIMEZONE: IANA name; reports' days and months
	SQLiteSync      string        // TICKS_SQLITE_SYNC: normal or full
	MessageTTL      time.Duration // TICKS_MESSAGE_TTL: undelivered longer than this is ttl_expired
	OptOutKeywords  []string      // TICKS_OPTOUT_KEYWORDS
	RateCard        string        // TICKS_RATE_CARD: the consumption report's rate card file ("" for the one ticks ships)
	ExtractionKeep  time.Duration // TICKS_EXTRACTION_KEEP: how long extraction files are kept
	// TICKS_EXTRACTION_COMPRESS_ABOVE: CSV extractions larger than this are gzipped.
	ExtractionCompressAbove int64
	// TICKS_EXTRACTION_WEBHOOK: a URL told of each extraction that is done ("" for none).
	ExtractionWebhook string
	// TICKS_EXTRACTION_S3: an S3-compatible bucket, as http(s)://host[:port]/bucket[?region=…],
	// that keeps the extractions' files instead of the data folder ("" for the folder).
	ExtractionS3          string
	ExtractionS3AccessKey string // TICKS_EXTRACTION_S3_ACCESS_KEY
	ExtractionS3SecretKey string // TICKS_EXTRACTION_S3_SECRET_KEY
	// TICKS_EXTRACTION_STALE_AFTER: how long an extraction's run may stay silent before it is taken over.
	ExtractionStaleAfter time.Duration
	// TICKS_SMTP_ADDR: the SMTP server (host:port) that e-mails a user their extraction is done ("" for none),
	// from TICKS_SMTP_FROM, logged in as TICKS_SMTP_USERNAME with TICKS_SMTP_PASSWORD when set.
	SMTPAddr     string
	SMTPFrom     string
	SMTPUsername string
	SMTPPassword string
	// DemoAdminToken is `ticks demo`'s own admin token, accepted beside
	// AdminToken; it is not read from the environment.
	DemoAdminToken string
	location       *time.Location
}

// Load reads the configuration from the environment through getenv (nil
// means os.Getenv), then from args, the command-line flags after the
// subcommand; a flag wins over its variable. An empty variable counts as
// unset. On -h it prints the flags with their variables to standard error
// and returns flag.ErrHelp. Errors name the variable or flag and the bad
// value, except for secrets, whose values never appear.
func Load(args []string, getenv func(string) string) (*Config, error) {
	return load(args, getenv, os.Stderr)
}

// value is one setting's raw text and where it came from, for errors.
type value struct {
	text   string
	source string // "TICKS_ADDR", "TICKS_SECRET_KEY_FILE" or "-addr"
}

func load(args []string, getenv func(string) string, usageOut io.Writer) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	values := make(map[string]value, len(settings))
	for _, s := range settings {
		v, err := s.fromEnv(getenv)
		if err != nil {
			return nil, err
		}
		values[s.env] = v
	}

	fs := flag.NewFlagSet("ticks", flag.ContinueOnError)
	fs.SetOutput(usageOut)
	fs.Usage = func() { printUsage(usageOut) }
	for _, s := range settings {
		// No default here: printUsage shows the real ones, and a default
		// taken from the environment could be a secret.
		fs.String(s.flag, "", s.usage)
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (flags only)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, s := range settings {
		if set[s.flag] {
			values[s.env] = value{text: fs.Lookup(s.flag).Value.String(), source: "-" + s.flag}
		}
	}

	c := &Config{}
	for _, s := range settings {
		v := values[s.env]
		if v.text == "" {
			v = value{text: s.def, source: s.env}
		}
		if err := s.parse(c, v.text); err != nil {
			return nil, fmt.Errorf("%s: %w", v.source, err)
		}
	}
	return c, nil
}

// fromEnv reads s from its variable or, for settings that allow it, from the
// file its *_FILE variable names (how Docker and Kubernetes hand out
// secrets). Setting both is refused: which one wins would be a guess.
func (s setting) fromEnv(getenv func(string) string) (value, error) {
	v := value{text: getenv(s.env), source: s.env}
	if !s.fromFile {
		return v, nil
	}
	fileVar := s.env + "_FILE"
	path := getenv(fileVar)
	if path == "" {
		return v, nil
	}
	if v.text != "" {
		return value{}, fmt.Errorf("%s and %s are both set; set only one", s.env, fileVar)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return value{}, fmt.Errorf("%s: %w", fileVar, err)
	}
	text := strings.TrimSpace(string(b))
	if text == "" {
		return value{}, fmt.Errorf("%s: file %s is empty", fileVar, path)
	}
	return value{text: text, source: fileVar}, nil
}

// Dialect returns DialectPostgres for postgres:// and postgresql:// URLs and
// DialectSQLite for everything else.
func (c Config) Dialect() string {
	if isPostgresURL(c.DatabaseURL) {
		return DialectPostgres
	}
	return DialectSQLite
}

func isPostgresURL(s string) bool {
	return hasPrefixFold(s, "postgres://") || hasPrefixFold(s, "postgresql://")
}

// sqlitePrefixes are the URL forms of a SQLite file, longest first so
// "sqlite://x" is not read as "sqlite:" + "//x".
var sqlitePrefixes = []string{"sqlite://", "sqlite:", "file://", "file:"}

// SQLitePath returns the SQLite database file: the path in
// TICKS_DATABASE_URL (sqlite://path, sqlite:path, file:path or a plain
// path), or <DataDir>/ticks.db when it is empty. It returns "" for
// PostgreSQL.
func (c Config) SQLitePath() string {
	if c.Dialect() != DialectSQLite {
		return ""
	}
	if c.DatabaseURL == "" {
		dir := c.DataDir
		if dir == "" {
			dir = defaultDataDir
		}
		return filepath.Join(dir, sqliteFileName)
	}
	for _, p := range sqlitePrefixes {
		if hasPrefixFold(c.DatabaseURL, p) {
			return c.DatabaseURL[len(p):]
		}
	}
	return c.DatabaseURL
}

// Location returns the time zone of TimeZone, in which reports cut days and
// months. A Config not made by Load falls back to the default zone, then UTC.
func (c Config) Location() *time.Location {
	if c.location != nil {
		return c.location
	}
	name := c.TimeZone
	if name == "" {
		name = defaultTimeZone
	}
	if loc, err := time.LoadLocation(name); err == nil {
		return loc
	}
	return time.UTC
}

// The methods below show the configuration with secrets redacted. They have
// value receivers so that a Config value, not only a pointer, goes through
// them: otherwise fmt and slog would print the struct's fields as they are.

// LogValue implements slog.LogValuer: the configuration as a group, secrets
// replaced by "[redacted]" (or "" when unset, which is worth knowing).
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(c.redactedAttrs()...)
}

// String returns the configuration as key=value pairs, secrets redacted.
func (c Config) String() string {
	var b strings.Builder
	for i, a := range c.redactedAttrs() {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%q", a.Key, a.Value.String())
	}
	return b.String()
}

// Format implements fmt.Formatter so every verb (%v, %+v, %#v, %d…) prints
// String: without it, %#v and non-string verbs would print secret fields.
func (c Config) Format(f fmt.State, verb rune) {
	_, _ = io.WriteString(f, c.String())
}

// MarshalJSON writes the redacted configuration, for debug endpoints and
// support bundles.
func (c Config) MarshalJSON() ([]byte, error) {
	m := map[string]string{}
	for _, a := range c.redactedAttrs() {
		m[a.Key] = a.Value.String()
	}
	return json.Marshal(m)
}

func (c Config) redactedAttrs() []slog.Attr {
	return []slog.Attr{
		slog.String("addr", c.Addr),
		slog.String("database_url", redactURL(c.DatabaseURL)),
		slog.String("data_dir", c.DataDir),
		slog.String("secret_key", redact(c.SecretKey)),
		slog.String("wa_app_secret", redact(c.WAAppSecret)),
		slog.String("wa_verify_token", redact(c.WAVerifyToken)),
		slog.String("wa_api_base", c.WAAPIBase),
		slog.String("admin_token", redact(c.AdminToken)),
		slog.String("log_level", c.LogLevel.String()),
		slog.String("log_format", c.LogFormat),
		slog.Int64("webhook_max_bytes", c.WebhookMaxBytes),
		slog.Duration("inbox_retention", c.InboxRetention),
		slog.String("timezone", c.TimeZone),
		slog.String("extraction_webhook", redactURL(c.ExtractionWebhook)),
		slog.String("extraction_s3", redactURL(c.ExtractionS3)),
		slog.String("extraction_s3_access_key", redact(c.ExtractionS3AccessKey)),
		slog.String("extraction_s3_secret_key", redact(c.ExtractionS3SecretKey)),
	}
}

func redact(secret string) string {
	if secret == "" {
		return ""
	}
	return "[redacted]"
}

// redactURL hides the password of a database URL, in the user part or in a
// password= query parameter; a URL that does not parse is hidden whole,
// since it cannot be told apart from one with a password.
func redactURL(s string) string {
	if !strings.Contains(s, "://") {
		return s // a file path
	}
	u, err := url.Parse(s)
	if err != nil {
		return "[redacted]"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
