package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// defaults is the Config Load returns when nothing is set.
func defaults() Config {
	return Config{
		Addr:            ":8080",
		DataDir:         "./ticks-data",
		WAAPIBase:       "https://graph.facebook.com/v23.0",
		LogLevel:        slog.LevelInfo,
		LogFormat:       "text",
		WebhookMaxBytes: 1 << 20,
		InboxRetention:  168 * time.Hour,
		TimeZone:        "America/Sao_Paulo",
		SQLiteSync:      "normal",
		MessageTTL:      24 * time.Hour,
		OptOutKeywords:  []string{"SAIR", "PARAR", "STOP"},
		ExtractionKeep:  7 * 24 * time.Hour,

		ExtractionCompressAbove: 32 << 20, ExtractionStaleAfter: 2 * time.Minute,
	}
}

// with returns defaults changed by edit, to keep table rows to what matters.
func with(edit func(c *Config)) Config {
	c := defaults()
	edit(&c)
	return c
}

func envFrom(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// writeFile writes content to a new file in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	keyFile := writeFile(t, dir, "key", "  file-secret-key-0123456789\n")
	emptyFile := writeFile(t, dir, "empty", " \n")
	dbFile := writeFile(t, dir, "db", "postgres://ticks:pw@db:5432/ticks\n")

	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		want    Config
		wantErr string // substring; "" means success
	}{
		{name: "nothing set", want: defaults()},
		{
			name: "every variable",
			env: map[string]string{
				"TICKS_ADDR":              "127.0.0.1:9090",
				"TICKS_DATABASE_URL":      "postgres://ticks@db/ticks",
				"TICKS_DATA_DIR":          "/var/lib/ticks",
				"TICKS_SECRET_KEY":        "env-secret-key-0123456789",
				"TICKS_WA_APP_SECRET":     "app-secret",
				"TICKS_WA_VERIFY_TOKEN":   "verify-token",
				"TICKS_WA_API_BASE":       "http://localhost:8081/v24.0",
				"TICKS_ADMIN_TOKEN":       "tk_admin",
				"TICKS_LOG_LEVEL":         "debug",
				"TICKS_LOG_FORMAT":        "json",
				"TICKS_WEBHOOK_MAX_BYTES": "2097152",
				"TICKS_INBOX_RETENTION":   "720h",
				"TICKS_TIMEZONE":          "UTC",
				"TICKS_SQLITE_SYNC":       "full",
			},
			want: Config{
				Addr:            "127.0.0.1:9090",
				DatabaseURL:     "postgres://ticks@db/ticks",
				DataDir:         "/var/lib/ticks",
				SecretKey:       "env-secret-key-0123456789",
				WAAppSecret:     "app-secret",
				WAVerifyToken:   "verify-token",
				WAAPIBase:       "http://localhost:8081/v24.0",
				AdminToken:      "tk_admin",
				LogLevel:        slog.LevelDebug,
				LogFormat:       "json",
				WebhookMaxBytes: 2 << 20,
				InboxRetention:  720 * time.Hour,
				TimeZone:        "UTC",
				SQLiteSync:      "full",
				MessageTTL:      24 * time.Hour,
				OptOutKeywords:  []string{"SAIR", "PARAR", "STOP"},
				ExtractionKeep:  7 * 24 * time.Hour,

				ExtractionCompressAbove: 32 << 20, ExtractionStaleAfter: 2 * time.Minute,
			},
		},
		{
			name: "every flag",
			args: []string{
				"-addr", ":9000", "-database-url", "sqlite:///tmp/t.db", "-data-dir", "/data",
				"-secret-key", "flag-secret-key-0123456789", "-wa-app-secret", "s", "-wa-verify-token", "v",
				"-wa-api-base", "https://graph.facebook.com/v24.0/", "-admin-token", "tk_x",
				"-log-level", "warn", "-log-format", "JSON", "-webhook-max-bytes", "512KiB",
				"-inbox-retention", "7d", "-timezone", "Europe/Lisbon",
			},
			want: Config{
				Addr: ":9000", DatabaseURL: "sqlite:///tmp/t.db", DataDir: "/data",
				SecretKey: "flag-secret-key-0123456789", WAAppSecret: "s", WAVerifyToken: "v",
				WAAPIBase: "https://graph.facebook.com/v24.0", AdminToken: "tk_x",
				LogLevel: slog.LevelWarn, LogFormat: "json", WebhookMaxBytes: 512 << 10,
				InboxRetention: 7 * 24 * time.Hour, TimeZone: "Europe/Lisbon", SQLiteSync: "normal",
				MessageTTL: 24 * time.Hour, OptOutKeywords: []string{"SAIR", "PARAR", "STOP"},
				ExtractionKeep: 7 * 24 * time.Hour,

				ExtractionCompressAbove: 32 << 20, ExtractionStaleAfter: 2 * time.Minute,
			},
		},
		{
			name: "flag overrides variable",
			env:  map[string]string{"TICKS_ADDR": ":1111", "TICKS_LOG_LEVEL": "error"},
			args: []string{"-addr=:2222"},
			want: with(func(c *Config) { c.Addr = ":2222"; c.LogLevel = slog.LevelError }),
		},
		{
			name: "empty flag resets to the default",
			env:  map[string]string{"TICKS_DATABASE_URL": "postgres://db/ticks"},
			args: []string{"-database-url="},
			want: defaults(),
		},
		{
			name: "empty variable counts as unset",
			env:  map[string]string{"TICKS_ADDR": ""},
			want: defaults(),
		},
		{
			name: "secret from file, trimmed",
			env:  map[string]string{"TICKS_SECRET_KEY_FILE": keyFile},
			want: with(func(c *Config) { c.SecretKey = "file-secret-key-0123456789" }),
		},
		{
			name: "every secret from a file",
			env: map[string]string{
				"TICKS_SECRET_KEY_FILE": keyFile, "TICKS_WA_APP_SECRET_FILE": keyFile,
				"TICKS_WA_VERIFY_TOKEN_FILE": keyFile, "TICKS_ADMIN_TOKEN_FILE": keyFile,
				"TICKS_DATABASE_URL_FILE": dbFile,
			},
			want: with(func(c *Config) {
				c.SecretKey, c.WAAppSecret, c.WAVerifyToken, c.AdminToken = "file-secret-key-0123456789", "file-secret-key-0123456789", "file-secret-key-0123456789", "file-secret-key-0123456789"
				c.DatabaseURL = "postgres://ticks:pw@db:5432/ticks"
			}),
		},
		{
			name: "flag overrides secret file",
			env:  map[string]string{"TICKS_ADMIN_TOKEN_FILE": keyFile},
			args: []string{"-admin-token", "tk_flag"},
			want: with(func(c *Config) { c.AdminToken = "tk_flag" }),
		},
		{
			name:    "secret and its file both set",
			env:     map[string]string{"TICKS_SECRET_KEY": "x", "TICKS_SECRET_KEY_FILE": keyFile},
			wantErr: "TICKS_SECRET_KEY and TICKS_SECRET_KEY_FILE are both set",
		},
		{
			name:    "secret file missing",
			env:     map[string]string{"TICKS_WA_APP_SECRET_FILE": filepath.Join(dir, "nope")},
			wantErr: "TICKS_WA_APP_SECRET_FILE: open " + filepath.Join(dir, "nope"),
		},
		{
			name:    "secret file empty",
			env:     map[string]string{"TICKS_ADMIN_TOKEN_FILE": emptyFile},
			wantErr: "TICKS_ADMIN_TOKEN_FILE: file " + emptyFile + " is empty",
		},
		{
			name: "sizes and durations in every accepted form",
			env:  map[string]string{"TICKS_WEBHOOK_MAX_BYTES": "1 GiB", "TICKS_INBOX_RETENTION": "1d12h"},
			want: with(func(c *Config) { c.WebhookMaxBytes = 1 << 30; c.InboxRetention = 36 * time.Hour }),
		},
		{
			name: "log level is case-insensitive",
			env:  map[string]string{"TICKS_LOG_LEVEL": "WARN"},
			want: with(func(c *Config) { c.LogLevel = slog.LevelWarn }),
		},
		{
			name: "IPv6 address",
			env:  map[string]string{"TICKS_ADDR": "[::1]:8080"},
			want: with(func(c *Config) { c.Addr = "[::1]:8080" }),
		},
		{name: "bad address", env: map[string]string{"TICKS_ADDR": "8080"}, wantErr: `TICKS_ADDR: invalid address "8080"`},
		{name: "bad port", env: map[string]string{"TICKS_ADDR": ":99999"}, wantErr: `TICKS_ADDR: invalid address ":99999": port must be a number`},
		{name: "bad address from flag", args: []string{"-addr", "nope"}, wantErr: `-addr: invalid address "nope"`},
		{name: "unsupported database", env: map[string]string{"TICKS_DATABASE_URL": "mysql://root:pw@db/ticks"}, wantErr: `TICKS_DATABASE_URL: unsupported database scheme "mysql"`},
		{name: "postgres without host", env: map[string]string{"TICKS_DATABASE_URL": "postgres:///ticks"}, wantErr: "TICKS_DATABASE_URL: invalid PostgreSQL URL: no host"},
		{name: "sqlite URL without path", env: map[string]string{"TICKS_DATABASE_URL": "sqlite://"}, wantErr: `TICKS_DATABASE_URL: invalid SQLite URL "sqlite://"`},
		{name: "sqlite URL with pragmas", env: map[string]string{"TICKS_DATABASE_URL": "file:t.db?_pragma=x"}, wantErr: "query parameters are not supported"},
		{name: "API base not a URL", env: map[string]string{"TICKS_WA_API_BASE": "graph.facebook.com"}, wantErr: `TICKS_WA_API_BASE: invalid URL "graph.facebook.com"`},
		{name: "API base with query", env: map[string]string{"TICKS_WA_API_BASE": "https://x/v1?a=b"}, wantErr: "TICKS_WA_API_BASE: invalid URL"},
		{name: "bad log level", env: map[string]string{"TICKS_LOG_LEVEL": "verbose"}, wantErr: `TICKS_LOG_LEVEL: invalid log level "verbose"`},
		{name: "bad log format", env: map[string]string{"TICKS_LOG_FORMAT": "xml"}, wantErr: `TICKS_LOG_FORMAT: invalid log format "xml"`},
		{name: "size not a number", env: map[string]string{"TICKS_WEBHOOK_MAX_BYTES": "big"}, wantErr: `TICKS_WEBHOOK_MAX_BYTES: invalid size "big"`},
		{name: "size zero", env: map[string]string{"TICKS_WEBHOOK_MAX_BYTES": "0"}, wantErr: `invalid size "0"`},
		{name: "size in decimal megabytes", env: map[string]string{"TICKS_WEBHOOK_MAX_BYTES": "1MB"}, wantErr: `invalid size "1MB"`},
		{name: "size overflows", env: map[string]string{"TICKS_WEBHOOK_MAX_BYTES": "9999999999GiB"}, wantErr: "invalid size"},
		{name: "bad duration", env: map[string]string{"TICKS_INBOX_RETENTION": "a week"}, wantErr: `TICKS_INBOX_RETENTION: invalid duration "a week"`},
		{name: "negative duration", env: map[string]string{"TICKS_INBOX_RETENTION": "-1h"}, wantErr: `invalid duration "-1h"`},
		{name: "zero duration", env: map[string]string{"TICKS_INBOX_RETENTION": "0d"}, wantErr: `invalid duration "0d"`},
		{name: "unknown time zone", env: map[string]string{"TICKS_TIMEZONE": "Mars/Olympus"}, wantErr: `TICKS_TIMEZONE: unknown time zone "Mars/Olympus"`},
		{
			name: "SMTP server",
			env: map[string]string{"TICKS_SMTP_ADDR": "smtp.example.com:587", "TICKS_SMTP_FROM": "ticks <ticks@example.com>",
				"TICKS_SMTP_USERNAME": "ticks", "TICKS_SMTP_PASSWORD": "pw"},
			want: with(func(c *Config) {
				c.SMTPAddr, c.SMTPFrom, c.SMTPUsername, c.SMTPPassword = "smtp.example.com:587", "ticks <ticks@example.com>", "ticks", "pw"
			}),
		},
		{name: "SMTP server without port", env: map[string]string{"TICKS_SMTP_ADDR": "smtp.example.com"}, wantErr: "TICKS_SMTP_ADDR: want host:port"},
		{name: "SMTP server without host", env: map[string]string{"TICKS_SMTP_ADDR": ":25"}, wantErr: "TICKS_SMTP_ADDR: want host:port"},
		{name: "SMTP sender not an address", env: map[string]string{"TICKS_SMTP_FROM": "ticks"}, wantErr: "TICKS_SMTP_FROM: want an e-mail address"},
		{name: "positional argument", args: []string{"extra"}, wantErr: `unexpected argument "extra"`},
		{name: "unknown flag", args: []string{"-port", "80"}, wantErr: "flag provided but not defined: -port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := load(tt.args, envFrom(tt.env), io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got.Location().String() != tt.want.TimeZone {
				t.Errorf("Location() = %s, want %s", got.Location(), tt.want.TimeZone)
			}
			got.location = nil
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("Load =\n%#v\nwant\n%#v", fields(*got), fields(tt.want))
			}
		})
	}
}

// fields shows every field, secrets included, for test failure messages
// only: Config's own formatting redacts them.
func fields(c Config) string {
	type plain Config
	return fmt.Sprintf("%+v", plain(c))
}

func TestLoadHelp(t *testing.T) {
	var out bytes.Buffer
	_, err := load([]string{"-h"}, envFrom(nil), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("Load(-h) error = %v, want flag.ErrHelp", err)
	}
	for _, s := range settings {
		line := ""
		for _, l := range strings.Split(out.String(), "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "-"+s.flag+" ") {
				line = l
			}
		}
		if !strings.Contains(line, s.env) {
			t.Errorf("usage has no line for -%s with %s:\n%s", s.flag, s.env, out.String())
		}
	}
}

// The names are a contract (SPEC.md section 5); a rename must break a test.
func TestSettingNames(t *testing.T) {
	want := map[string]string{
		"TICKS_ADDR": "addr", "TICKS_DATABASE_URL": "database-url", "TICKS_DATA_DIR": "data-dir",
		"TICKS_SECRET_KEY": "secret-key", "TICKS_WA_APP_SECRET": "wa-app-secret",
		"TICKS_WA_VERIFY_TOKEN": "wa-verify-token", "TICKS_WA_API_BASE": "wa-api-base",
		"TICKS_ADMIN_TOKEN": "admin-token", "TICKS_LOG_LEVEL": "log-level", "TICKS_LOG_FORMAT": "log-format",
		"TICKS_WEBHOOK_MAX_BYTES": "webhook-max-bytes", "TICKS_INBOX_RETENTION": "inbox-retention",
		"TICKS_TIMEZONE":        "timezone",
		"TICKS_SQLITE_SYNC":     "sqlite-sync",
		"TICKS_MESSAGE_TTL":     "message-ttl",
		"TICKS_OPTOUT_KEYWORDS": "optout-keywords",
		"TICKS_RATE_CARD":       "rate-card",
		"TICKS_EXTRACTION_KEEP": "extraction-keep",

		"TICKS_EXTRACTION_COMPRESS_ABOVE": "extraction-compress-above",
		"TICKS_EXTRACTION_WEBHOOK":        "extraction-webhook",
		"TICKS_EXTRACTION_S3":             "extraction-s3",
		"TICKS_EXTRACTION_S3_ACCESS_KEY":  "extraction-s3-access-key",
		"TICKS_EXTRACTION_S3_SECRET_KEY":  "extraction-s3-secret-key",
		"TICKS_EXTRACTION_STALE_AFTER":    "extraction-stale-after",
		"TICKS_SMTP_ADDR":                 "smtp-addr",
		"TICKS_SMTP_FROM":                 "smtp-from",
		"TICKS_SMTP_USERNAME":             "smtp-username",
		"TICKS_SMTP_PASSWORD":             "smtp-password",
	}
	got := map[string]string{}
	for _, s := range settings {
		got[s.env] = s.flag
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("settings = %v, want %v", got, want)
	}
	for _, s := range settings {
		if s.secret && !s.fromFile {
			t.Errorf("%s is a secret without a _FILE variant", s.env)
		}
	}
}

// Secrets must not leak through any way a Config can be printed, logged,
// serialised, or reported in an error.
func TestSecretsNeverShown(t *testing.T) {
	const pgPassword = "pg-pass-SENTINEL"
	marks := map[string]string{}
	env := map[string]string{"TICKS_DATABASE_URL": "postgres://ticks:" + pgPassword + "@db/ticks?password=" + pgPassword}
	for _, s := range settings {
		if s.secret {
			marks[s.env] = "SENTINEL-" + s.env + "-0123456789"
			env[s.env] = marks[s.env]
		}
	}
	marks["database password"] = pgPassword
	c, err := load(nil, envFrom(env), io.Discard)
	if err != nil {
		t.Fatal(err)
	}

	var outputs []string
	for _, v := range []any{c, *c} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
			outputs = append(outputs, fmt.Sprintf(verb, v))
		}
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		outputs = append(outputs, string(j))
		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "config", v)
		slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "config", v)
		outputs = append(outputs, buf.String())
	}
	outputs = append(outputs, c.String())

	// Errors raised while secrets are set, from other settings and from the
	// database URL itself.
	for _, bad := range []map[string]string{
		{"TICKS_ADDR": "nope"},
		{"TICKS_DATABASE_URL": "postgres://ticks:" + pgPassword + "@db:badport/ticks"},
		{"TICKS_DATABASE_URL": "postgres://ticks:" + pgPassword + "@/ticks"},
		{"TICKS_DATABASE_URL": "mysql://ticks:" + pgPassword + "@db/ticks"},
		{"TICKS_SECRET_KEY_FILE": "/nonexistent"},
	} {
		e := map[string]string{}
		for k, v := range env {
			e[k] = v
		}
		for k, v := range bad {
			e[k] = v
		}
		_, err := load(nil, envFrom(e), io.Discard)
		if err == nil {
			t.Fatalf("load with %v: no error", bad)
		}
		outputs = append(outputs, err.Error())
	}

	for _, out := range outputs {
		for name, mark := range marks {
			if strings.Contains(out, mark) {
				t.Errorf("%s shown in:\n%s", name, out)
			}
		}
	}
	if !strings.Contains(c.String(), `secret_key="[redacted]"`) || !strings.Contains(c.String(), "postgres://ticks:xxxxx@db/ticks") {
		t.Errorf("String() = %s, want redacted values that still say what is set", c)
	}
}

func TestDialectAndSQLitePath(t *testing.T) {
	tests := []struct {
		url, dataDir string
		dialect      string
		path         string
	}{
		{"", "./ticks-data", DialectSQLite, "ticks-data/ticks.db"},
		{"", "/var/lib/ticks", DialectSQLite, "/var/lib/ticks/ticks.db"},
		{"", "", DialectSQLite, "ticks-data/ticks.db"}, // zero Config
		{"/data/t.db", "", DialectSQLite, "/data/t.db"},
		{"t.db", "", DialectSQLite, "t.db"},
		{":memory:", "", DialectSQLite, ":memory:"},
		{"sqlite:///data/t.db", "", DialectSQLite, "/data/t.db"},
		{"sqlite://t.db", "", DialectSQLite, "t.db"},
		{"sqlite:t.db", "", DialectSQLite, "t.db"},
		{"SQLITE:/data/t.db", "", DialectSQLite, "/data/t.db"},
		{"file:t.db", "", DialectSQLite, "t.db"},
		{"file:///data/t.db", "", DialectSQLite, "/data/t.db"},
		{"postgres://u:p@db/ticks", "", DialectPostgres, ""},
		{"postgresql://db/ticks", "", DialectPostgres, ""},
		{"POSTGRES://db/ticks", "", DialectPostgres, ""},
	}
	for _, tt := range tests {
		c := Config{DatabaseURL: tt.url, DataDir: tt.dataDir}
		if got := c.Dialect(); got != tt.dialect {
			t.Errorf("Dialect(%q) = %q, want %q", tt.url, got, tt.dialect)
		}
		if got := c.SQLitePath(); got != filepath.FromSlash(tt.path) {
			t.Errorf("SQLitePath(%q, dir %q) = %q, want %q", tt.url, tt.dataDir, got, tt.path)
		}
	}
}

func TestLocation(t *testing.T) {
	tests := []struct {
		name string
		c    Config
		want string
	}{
		{"zero Config uses the default zone", Config{}, "America/Sao_Paulo"},
		{"hand-built Config", Config{TimeZone: "Asia/Tokyo"}, "Asia/Tokyo"},
		{"unknown zone falls back to UTC", Config{TimeZone: "Nowhere/Land"}, "UTC"},
	}
	for _, tt := range tests {
		if got := tt.c.Location().String(); got != tt.want {
			t.Errorf("%s: Location() = %s, want %s", tt.name, got, tt.want)
		}
	}
	// São Paulo has had no daylight saving time since 2019: UTC-3 all year.
	c, err := load(nil, envFrom(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, off := time.Date(2026, 1, 15, 12, 0, 0, 0, c.Location()).Zone(); off != -3*3600 {
		t.Errorf("America/Sao_Paulo offset = %d, want -3h", off)
	}
}
