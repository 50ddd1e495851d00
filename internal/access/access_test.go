package access_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/access"
	"github.com/ticksapp/ticks/internal/domain"
	"github.com/ticksapp/ticks/internal/secret"
	"github.com/ticksapp/ticks/internal/store/storetest"
)

func TestMain(m *testing.M) {
	// Cheap password hashes: the tests log in often.
	secret.PasswordParams.Time, secret.PasswordParams.MemoryKiB = 1, 64
	os.Exit(m.Run())
}

func TestPrincipalRights(t *testing.T) {
	admin := access.System()
	sup := &access.Principal{Role: domain.RoleSupervisor, Scope: []int64{2, 3}}
	viewer := &access.Principal{Role: domain.RoleViewer, Scope: []int64{3}}
	none := access.ForUser(&domain.User{ID: 9, Role: domain.RoleAgent})
	cases := []struct {
		name string
		got  bool
		want bool
	}{
		{"admin is org admin", admin.OrgAdmin(), true},
		{"supervisor is not", sup.OrgAdmin(), false},
		{"admin sees anything", admin.CanSee(42), true},
		{"supervisor sees its own", sup.CanSee(3), true},
		{"supervisor not another's", sup.CanSee(4), false},
		{"a user with no grant sees nothing", none.CanSee(1), false},
		{"supervisor may do what supervisors do", sup.Need(domain.RoleSupervisor) == nil, true},
		{"viewer may not", viewer.Need(domain.RoleAdmin, domain.RoleSupervisor) == nil, false},
		{"admin may always", admin.Need(domain.RoleViewer) == nil, true},
		{"shares one of", viewer.SeesAny([]int64{1, 3}), true},
		{"shares none of", viewer.SeesAny([]int64{1, 2}), false},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got %v", c.name, c.got)
		}
	}
	if _, err := sup.Narrow(4); domain.ErrorCode(err) != domain.EFORBIDDEN {
		t.Errorf("narrowing to another's subaccount: %v", err)
	}
	if id, err := viewer.WriteTarget(0); err != nil || id != 3 {
		t.Errorf("the only subaccount is the write target: %d %v", id, err)
	}
	if _, err := sup.WriteTarget(0); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("two subaccounts need one named: %v", err)
	}
	if _, err := admin.WriteTarget(domain.UnassignedSubaccountID); domain.ErrorCode(err) != domain.EFORBIDDEN {
		t.Errorf("the unassigned subaccount takes no writes: %v", err)
	}
}

// TestServiceRules checks who may create what, on a real database, without
// HTTP: the rules the API, the web pages and the CLI share.
func TestServiceRules(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	svc := access.New(st, "tk_admin_secret")
	admin := access.System()
	a, err := svc.CreateSubaccount(ctx, admin, access.SubaccountInput{Name: "  A  ", TimeZone: "America/Manaus"})
	if err != nil || a.Name != "A" {
		t.Fatalf("create subaccount: %+v %v", a, err)
	}
	b, _ := svc.CreateSubaccount(ctx, admin, access.SubaccountInput{Name: "B"})
	sup := &access.Principal{Role: domain.RoleSupervisor, Scope: []int64{a.ID}}

	refused := []struct {
		name string
		code string
		err  error
	}{
		{"supervisor creates a subaccount", domain.EFORBIDDEN, second(svc.CreateSubaccount(ctx, sup, access.SubaccountInput{Name: "C"}))},
		{"bad time zone", domain.EINVALID, second(svc.CreateSubaccount(ctx, admin, access.SubaccountInput{Name: "C", TimeZone: "Mars/Olympus"}))},
		{"supervisor creates a supervisor", domain.EFORBIDDEN, second(svc.CreateUser(ctx, sup, access.UserInput{Email: "s@x.io", Role: domain.RoleSupervisor, Password: "long enough pw", Subaccounts: []int64{a.ID}}))},
		{"supervisor grants another's subaccount", domain.EFORBIDDEN, second(svc.CreateUser(ctx, sup, access.UserInput{Email: "v@x.io", Role: domain.RoleViewer, Password: "long enough pw", Subaccounts: []int64{b.ID}}))},
		{"supervisor grants nothing", domain.EINVALID, second(svc.CreateUser(ctx, sup, access.UserInput{Email: "v@x.io", Role: domain.RoleViewer, Password: "long enough pw"}))},
		{"not an email", domain.EINVALID, second(svc.CreateUser(ctx, admin, access.UserInput{Email: "nobody", Role: domain.RoleViewer, Password: "long enough pw"}))},
		{"supervisor creates an admin token", domain.EFORBIDDEN, second(svc.CreateToken(ctx, sup, access.TokenInput{Name: "t", Role: domain.RoleAdmin, SubaccountID: a.ID}))},
		{"token of another's subaccount", domain.EFORBIDDEN, second(svc.CreateToken(ctx, sup, access.TokenInput{Name: "t", Role: domain.RoleViewer, SubaccountID: b.ID}))},
	}
	for _, c := range refused {
		if got := domain.ErrorCode(c.err); got != c.code {
			t.Errorf("%s: got %q (%v), want %s", c.name, got, c.err, c.code)
		}
	}
	if subs, _ := svc.Subaccounts(ctx, admin); len(subs) != 3 { // unassigned, A, B
		t.Errorf("a refused request changed the subaccounts: %d", len(subs))
	}

	// A supervisor's viewer and token, then the token authenticates as it.
	if _, err := svc.CreateUser(ctx, sup, access.UserInput{Email: "Viewer@X.io", Role: domain.RoleViewer, Password: "long enough pw", Subaccounts: []int64{a.ID}}); err != nil {
		t.Fatal(err)
	}
	tok, err := svc.CreateToken(ctx, sup, access.TokenInput{Name: "crm", Role: domain.RoleViewer, SubaccountID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.Authenticate(ctx, tok.Token, "192.0.2.1")
	if err != nil || p.Role != domain.RoleViewer || !p.CanSee(a.ID) || p.CanSee(b.ID) {
		t.Fatalf("token principal: %+v %v", p, err)
	}
	if p, err := svc.Authenticate(ctx, "tk_admin_secret", "192.0.2.1"); err != nil || !p.OrgAdmin() {
		t.Errorf("admin token: %+v %v", p, err)
	}
	if _, err := svc.Authenticate(ctx, "tk_wrong", "192.0.2.1"); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
		t.Errorf("wrong token: %v", err)
	}
	if err := svc.RevokeToken(ctx, &access.Principal{Role: domain.RoleSupervisor, Scope: []int64{b.ID}}, tok.ID); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("another subaccount's supervisor revoked a token: %v", err)
	}
	if err := svc.RevokeToken(ctx, sup, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, tok.Token, "192.0.2.1"); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
		t.Errorf("revoked token still works: %v", err)
	}

	// Login and sessions.
	if _, err := svc.Login(ctx, "viewer@x.io", "wrong password", "192.0.2.1"); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := svc.Login(ctx, "ghost@x.io", "long enough pw", "192.0.2.1"); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
		t.Errorf("unknown email: %v", err)
	}
	u, err := svc.Login(ctx, " viewer@x.io ", "long enough pw", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	value, sess, err := svc.StartSession(ctx, u, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	got, err := svc.SessionFor(ctx, value)
	if err != nil || got.User.ID != u.ID || got.CSRF != sess.CSRF || got.Principal.UserID != u.ID || got.Principal.CanSee(b.ID) {
		t.Fatalf("session: %+v %v", got, err)
	}
	if err := svc.EndSession(ctx, got); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SessionFor(ctx, value); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
		t.Errorf("ended session still valid: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }
