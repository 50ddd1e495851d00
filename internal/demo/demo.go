// Package demo is what `ticks demo` shows a new user: an organization with
// subaccounts, numbers, users, tokens and contacts, created once through
// the same services as the API; 90 days of its past traffic, written once
// in the background; then continuous traffic sent through the real
// pipeline to the simulator, which answers as WhatsApp would.
package demo

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/ticksapp/ticks/internal/simulator"
)

// State is what the demo keeps between runs, in <data-dir>/demo.json, so
// a restart resumes with the same secrets, logins and data.
type State struct {
	AppSecret   string `json:"app_secret"`
	SecretKey   string `json:"secret_key"`
	AdminToken  string `json:"admin_token"`
	Password    string `json:"password"`
	APIToken    string `json:"api_token"` // a supervisor token of the first subaccount
	Seeded      bool   `json:"seeded"`
	SimulatorID uint64 `json:"simulator_seed"`
	// HistoryEnd is when the demo first started: its history ends there
	// and live traffic begins. Zero for a demo seeded before it had one.
	HistoryEnd time.Time `json:"history_end,omitzero"`
	// HistoryDone is set once the whole history is written, with how many
	// messages it holds.
	HistoryDone bool `json:"history_done,omitempty"`
	HistoryMT   int  `json:"history_mt,omitempty"`
	HistoryMO   int  `json:"history_mo,omitempty"`
	// DeskSeeded is set once the help desk's teams, agents and pause
	// reasons exist (a demo seeded before the desk gets them on its next
	// start).
	DeskSeeded bool `json:"desk_seeded,omitempty"`
	// DeskHistoryDone is set once the history has its help desk: the
	// tickets of its 90 days (History.desk).
	DeskHistoryDone bool `json:"desk_history_done,omitempty"`
	// CampaignsSeeded is set once the demo's campaigns exist.
	CampaignsSeeded bool `json:"campaigns_seeded,omitempty"`
	// BudgetsSeeded is set once the subaccounts have their monthly budgets.
	BudgetsSeeded bool `json:"budgets_seeded,omitempty"`
	// Runs counts the demo's starts: each gives the simulator a run of its
	// own, so a resumed demo does not make the wamids of an earlier run.
	Runs uint64 `json:"runs"`
}

// LoadState reads the state of the demo in dir, or makes a new one (new
// secrets, a new password) when there is none.
func LoadState(dir string) (*State, error) {
	path := filepath.Join(dir, "demo.json")
	st := &State{}
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, st); err != nil {
			return nil, fmt.Errorf("%s is damaged (%v): remove the folder to start over", path, err)
		}
		return st, nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	st = &State{AppSecret: randomHex(16), SecretKey: randomHex(24), AdminToken: "tk_admin_" + randomHex(16),
		Password: "ticks-demo-" + randomHex(3), SimulatorID: mrand.Uint64() % 1_000_000}
	return st, st.Save(dir)
}

// Save writes the state into dir, readable by its owner only: it holds
// secrets.
func (st *State) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	return os.WriteFile(filepath.Join(dir, "demo.json"), b, 0o600)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Phones are the demo's business numbers: Meta's documentation ids for the
// first, made up for the others.
var Phones = []simulator.Phone{
	{PhoneNumberID: "106540352242922", DisplayPhone: "15550783881", WABAID: "102290129340398", AccessToken: "demo-token-centro", VerifiedName: "Varejo Centro"},
	{PhoneNumberID: "106540352242923", DisplayPhone: "15550783882", WABAID: "102290129340399", AccessToken: "demo-token-online", VerifiedName: "Loja Online"},
	{PhoneNumberID: "106540352242924", DisplayPhone: "15550783883", WABAID: "102290129340399", AccessToken: "demo-token-aquecimento", VerifiedName: "Loja Online (aquecimento)"},
}

// Contacts is how many contacts each subaccount of the demo has.
const Contacts = 300

// Outcomes is what the simulated WhatsApp does with the demo's messages: a
// mix with every failure the report shows.
func Outcomes() simulator.Outcomes {
	mix := simulator.DefaultOutcomes()
	mix.Failed, mix.Read, mix.Delivered = 0.16, 0.52, 0.22 // the rest stays "sent" and expires
	mix.FailureCodes = []int{131026, 131026, 131049, 130472, 131050, 131000, 131016, 132015, 132000, 135000, 131053}
	mix.OptOut = 0.03
	return mix
}

// Phone is the phone number of the demo's contact i.
func Phone(i int) string { return fmt.Sprintf("+55119%08d", 80000000+i) }

var firstNames = []string{"Ana", "Bruno", "Carla", "Diego", "Eduarda", "Felipe", "Gabriela", "Henrique", "Isabela", "João", "Larissa", "Marcos"}
var lastNames = []string{"Silva", "Santos", "Oliveira", "Souza", "Lima", "Pereira", "Costa", "Ferreira", "Almeida", "Conceição"}

// Name is the name of the demo's contact i: a first name and one family
// name, two beyond the first 120 contacts.
func Name(i int) string {
	n := firstNames[i%len(firstNames)] + " " + lastNames[(i/len(firstNames))%len(lastNames)]
	if k := len(firstNames) * len(lastNames); i >= k {
		n += " " + lastNames[(i/k+3)%len(lastNames)]
	}
	return n
}
