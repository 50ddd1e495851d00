package domain

import (
	"fmt"
	"strings"
)

// Refusal is one of ticks's own reasons for not sending a message (or for a
// send that failed on ticks's side). The message keeps its English title
// and detail, as the API shows them, and its parameters, so that reports
// can say the reason in the reader's language (the i18n keys
// "reason.<Key>" for the title and "reason.<Key>.detail" for the detail,
// which takes Args in order).
type Refusal struct {
	Key    string
	Status Status
	Title  string
	Detail string // a fmt format of the Args, all strings (%[1]s, %[2]s…)
}

// Refusals, by the check that makes them.
var (
	RefusedNumber      = Refusal{"invalid_number", StatusInvalidNumber, "invalid destination number", "%[1]s is not a valid phone number: %[2]s"}
	RefusedSession     = Refusal{"session_closed", StatusInvalidSession, "session closed and no fallback template", "free-form messages can only be sent within 24 hours of the contact's last message"}
	RefusedNoTemplate  = Refusal{"template_not_found", StatusInvalidContent, "template not found", "template %[1]q (%[2]s) does not exist on this WhatsApp account"}
	RefusedNotApproved = Refusal{"template_not_approved", StatusInvalidContent, "template not approved", "template %[1]q (%[2]s) is %[3]s"}
	RefusedParamCount  = Refusal{"parameter_count", StatusInvalidContent, "wrong parameter count", "template %[1]q takes %[2]s body parameters, %[3]s given"}
	RefusedOptOut      = Refusal{"opted_out", StatusOptedOut, "contact opted out", "the contact asked to stop receiving messages"}
	RefusedTier        = Refusal{"tier_limit", StatusTierLimit, "messaging limit reached", "%[1]s allows %[2]s unique contacts outside a session in 24 hours"}
	RefusedWarmup      = Refusal{"warmup", StatusWarmupBlocked, "number in warm-up", "the number is in a warm-up program until %[1]s; only its scheduled sends go"}
	RefusedWarmupQuota = Refusal{"warmup_quota", StatusWarmupBlocked, "warm-up quota reached", "the warm-up program sends at most %[1]s messages a day"}
	FailedToken        = Refusal{"token", StatusInternalError, "channel token cannot be opened", "%[1]s"}
	FailedUnreachable  = Refusal{"unreachable", StatusInternalError, "provider unreachable", "%[1]s"}
	FailedInterrupted  = Refusal{"interrupted", StatusInternalError, "sending interrupted", "%[1]s"}
	refusalsByTitle    = map[string]Refusal{}
)

func init() {
	for _, r := range []Refusal{RefusedNumber, RefusedSession, RefusedNoTemplate, RefusedNotApproved, RefusedParamCount,
		RefusedOptOut, RefusedTier, RefusedWarmup, RefusedWarmupQuota, FailedToken, FailedUnreachable, FailedInterrupted} {
		refusalsByTitle[r.Title] = r
	}
}

// Apply marks m failed for this reason, with its English detail.
func (r Refusal) Apply(m *Message, args ...string) {
	m.State, m.Status = StateFailed, r.Status
	m.ErrorCode, m.ErrorTitle, m.ErrorDetail = 0, r.Title, r.Text(args...)
	m.ErrorArgs = args
}

// Text is the English detail with args.
func (r Refusal) Text(args ...string) string {
	if !strings.Contains(r.Detail, "%") {
		return r.Detail
	}
	a := make([]any, len(args))
	for i, s := range args {
		a[i] = s
	}
	return fmt.Sprintf(r.Detail, a...)
}

// RefusalOf returns ticks's own reason a failed message was stored with,
// if it was one (Meta's reasons carry Meta's code).
func RefusalOf(m *Message) (Refusal, bool) {
	if m.ErrorCode != 0 {
		return Refusal{}, false
	}
	r, ok := refusalsByTitle[m.ErrorTitle]
	return r, ok
}

// Refusals lists every reason of ticks's own, for tests and labels.
func Refusals() []Refusal {
	out := make([]Refusal, 0, len(refusalsByTitle))
	for _, r := range refusalsByTitle {
		out = append(out, r)
	}
	return out
}
