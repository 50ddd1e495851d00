package apply

import (
	"strings"
	"sync"

	"github.com/ticksapp/ticks/internal/phone"
)

// contactPhoneKey is the canonical phone of a wa_id, the form contacts are
// matched on: the real number, with the Brazilian ninth digit, while the
// wa_id keeps what WhatsApp sent. A wa_id that is not a phone number (a
// placeholder some tools send) keys the contact as "wa:<id>", so its
// messages are still kept together. "" for an empty wa_id.
func contactPhoneKey(waID string) string {
	if waID == "" {
		return ""
	}
	if key, ok := phoneKeys.get(waID); ok {
		return key
	}
	key := "wa:" + waID
	if p, err := phone.FromWAID(waID); err == nil {
		key = phone.Canonical(p)
	}
	phoneKeys.put(waID, key)
	return key
}

// phoneKeys remembers contactPhoneKey's answers, which depend on the wa_id
// alone: parsing a number with libphonenumber costs microseconds, and the
// statuses of messages ticks did not send name the same contacts again and
// again (each new message's contact is looked up twice, too).
var phoneKeys = keyCache{max: 1 << 16}

// keyCache is a bounded map, emptied when full.
type keyCache struct {
	mu  sync.Mutex
	m   map[string]string
	max int
}

func (c *keyCache) get(k string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

func (c *keyCache) put(k, v string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= c.max {
		c.m = make(map[string]string, min(c.max, 1024))
	}
	c.m[k] = v
}

// contactKey is the phone key a contact is matched on: a non-phone wa_id
// keys it only when there is no business-scoped user id to key it by.
func contactKey(waID, userID string) string {
	key := contactPhoneKey(waID)
	if userID != "" && strings.HasPrefix(key, "wa:") {
		return ""
	}
	return key
}

// phoneOf is the E.164 phone of a contact key, "" for a non-phone key.
func phoneOf(key string) string {
	if strings.HasPrefix(key, "+") {
		return key
	}
	return ""
}

// contactIndex names a contact of a subaccount by its phone key or, when
// byUser, by its business-scoped user id.
type contactIndex struct {
	subaccountID int64
	byUser       bool
	value        string
}

// contactRef is what a plan knows of a contact.
type contactRef struct {
	id             int64 // negative: created by the plan (see Plan.Resolve)
	hasUser, hasWA bool
}

// contacts finds the contacts a plan names, among those the store
// preloaded and those the plan creates.
type contacts struct {
	index map[contactIndex]*contactRef
	plan  *Plan
}

func newContacts(found []Contact, plan *Plan) contacts {
	c := contacts{index: make(map[contactIndex]*contactRef, 2*len(found)), plan: plan}
	for _, f := range found {
		ref := &contactRef{id: f.ID, hasUser: f.UserID != "", hasWA: f.WAID != ""}
		if f.PhoneKey != "" {
			c.index[contactIndex{f.SubaccountID, false, f.PhoneKey}] = ref
		}
		if f.UserID != "" {
			c.index[contactIndex{f.SubaccountID, true, f.UserID}] = ref
		}
	}
	return c
}

// find returns the contact with phone key key or user id userID, nil when
// there is none.
func (c *contacts) find(subaccountID int64, key, userID string) *contactRef {
	if key != "" {
		if ref := c.index[contactIndex{subaccountID, false, key}]; ref != nil {
			return ref
		}
	}
	if userID != "" {
		return c.index[contactIndex{subaccountID, true, userID}]
	}
	return nil
}

// remember makes ref the contact of key and userID from now on.
func (c *contacts) remember(subaccountID int64, key, userID string, ref *contactRef) {
	if key != "" {
		c.index[contactIndex{subaccountID, false, key}] = ref
	}
	if userID != "" {
		c.index[contactIndex{subaccountID, true, userID}] = ref
	}
}

// findOrCreate returns the contact of key or userID, creating it when
// there is none, and whether it created it.
func (c *contacts) findOrCreate(subaccountID int64, key, userID, waID, name string) (*contactRef, bool) {
	if ref := c.find(subaccountID, key, userID); ref != nil {
		return ref, false
	}
	c.plan.NewContacts = append(c.plan.NewContacts, NewContact{SubaccountID: subaccountID, Phone: phoneOf(key),
		PhoneKey: key, WAID: waID, UserID: userID, Name: name})
	ref := &contactRef{id: -int64(len(c.plan.NewContacts)), hasUser: userID != "", hasWA: waID != ""}
	c.remember(subaccountID, key, userID, ref)
	return ref, true
}
