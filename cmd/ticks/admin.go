package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/channels"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/secret"
)

const adminUsage = `Usage:
  ticks admin subaccount create -name NAME [-time-zone TZ]
  ticks admin user create -email E -role admin|supervisor|agent|viewer -password P [-name N] [-subaccounts 2,3] [-lang pt-BR|en]
  ticks admin token create -subaccount ID -role ROLE -name NAME
  ticks admin token revoke -id ID
  ticks admin channel create -subaccount ID -name NAME -phone-number-id ID [-waba-id ID] [-display-phone P] [-access-token T] [-tier TIER]
  ticks admin <subaccounts|users|tokens|channels> list

Configuration flags (-database-url, ...) come after the admin flags, separated by --.
Output is JSON.
`

// admin runs the administration commands with the rights of an
// organization admin, through the same services as the REST API.
func admin(ctx context.Context, args []string, out io.Writer) error {
	if len(args) < 2 {
		fmt.Fprint(os.Stderr, adminUsage)
		return errUsage
	}
	what, verb, rest := strings.TrimSuffix(args[0], "s"), args[1], args[2:]
	cmdArgs, cfgArgs := rest, []string(nil)
	for i, a := range rest {
		if a == "--" {
			cmdArgs, cfgArgs = rest[:i], rest[i+1:]
			break
		}
	}
	st, cfg, err := openStore(ctx, cfgArgs)
	if err != nil {
		return err
	}
	defer st.Close()
	var box *secret.Box
	if cfg.SecretKey != "" {
		if box, err = secret.NewBox(cfg.SecretKey); err != nil {
			return fmt.Errorf("TICKS_SECRET_KEY: %w", err)
		}
	}
	acc, chans := access.New(st), &channels.Service{Store: st, Box: box}
	p := access.System()
	fs := flag.NewFlagSet("ticks admin "+what+" "+verb, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	var result any
	switch what + " " + verb {
	case "subaccount create":
		in := access.SubaccountInput{}
		fs.StringVar(&in.Name, "name", "", "subaccount name")
		fs.StringVar(&in.TimeZone, "time-zone", "", "IANA time zone (default America/Sao_Paulo)")
		if err := fs.Parse(cmdArgs); err != nil {
			return errUsage
		}
		result, err = acc.CreateSubaccount(ctx, p, in)
	case "user create":
		in := access.UserInput{}
		fs.StringVar(&in.Email, "email", "", "email (the login)")
		fs.StringVar(&in.Name, "name", "", "display name")
		role := fs.String("role", "viewer", "admin, supervisor, agent or viewer")
		fs.StringVar(&in.Password, "password", "", "password (at least 8 characters)")
		fs.StringVar(&in.Lang, "lang", "pt-BR", "pt-BR or en")
		subs := fs.String("subaccounts", "", "comma-separated subaccount ids")
		if err := fs.Parse(cmdArgs); err != nil {
			return errUsage
		}
		in.Role = domain.Role(*role)
		if in.Subaccounts, err = parseIDs(*subs); err != nil {
			return err
		}
		result, err = acc.CreateUser(ctx, p, in)
	case "token create":
		in := access.TokenInput{}
		fs.Int64Var(&in.SubaccountID, "subaccount", 0, "subaccount id")
		role := fs.String("role", "supervisor", "admin, supervisor, agent or viewer")
		fs.StringVar(&in.Name, "name", "", "what the token is for")
		if err := fs.Parse(cmdArgs); err != nil {
			return errUsage
		}
		in.Role = domain.Role(*role)
		result, err = acc.CreateToken(ctx, p, in)
	case "token revoke":
		id := fs.Int64("id", 0, "token id")
		if err := fs.Parse(cmdArgs); err != nil {
			return errUsage
		}
		err, result = acc.RevokeToken(ctx, p, *id), map[string]any{"revoked": *id}
	case "channel create":
		in := channels.Input{}
		fs.Int64Var(&in.SubaccountID, "subaccount", 0, "owning subaccount id")
		fs.StringVar(&in.Name, "name", "", "channel name")
		fs.StringVar(&in.PhoneNumberID, "phone-number-id", "", "Meta phone_number_id")
		fs.StringVar(&in.WABAID, "waba-id", "", "WhatsApp Business Account id")
		fs.StringVar(&in.DisplayPhone, "display-phone", "", "display phone number")
		fs.StringVar(&in.AccessToken, "access-token", "", "Cloud API access token (stored encrypted)")
		fs.StringVar(&in.Tier, "tier", "", "messaging limit tier")
		if err := fs.Parse(cmdArgs); err != nil {
			return errUsage
		}
		result, err = chans.Create(ctx, p, in)
	case "subaccount list":
		result, err = acc.Subaccounts(ctx, p)
	case "user list":
		result, err = acc.Users(ctx, p)
	case "token list":
		result, err = acc.Tokens(ctx, p)
	case "channel list":
		result, err = chans.List(ctx, p)
	default:
		fmt.Fprint(os.Stderr, adminUsage)
		return errUsage
	}
	if err != nil {
		return err
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(result)
}

func parseIDs(s string) ([]int64, error) {
	var ids []int64
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, err := strconv.ParseInt(part, 10, 64)
		if err != nil || id <= 0 {
			return nil, domain.Errorf(domain.EINVALID, "subaccount id %q is not a positive integer", part)
		}
		ids = append(ids, id)
	}
	return ids, nil
}
