package whatsapp

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ticksapp/ticks/internal/domain"
)

// AcceptWebhook reads a signed body as ticks keeps it: every correctly
// signed body that is valid JSON is accepted (answering 400 would make Meta
// retry it and then drop it, with the valid events beside the odd one). What
// parses becomes events as ParseWebhook makes them; each part that does not
// — an unknown status value, a field of another type than expected, a whole
// body that is no WhatsApp webhook — is kept in Unreadable with the reason,
// as small as it can be cut: a status, an inbound message, a change, an
// entry, the body. The only error is a body that is not JSON.
func AcceptWebhook(body []byte) (*domain.WebhookBatch, error) {
	batch, err := ParseWebhook(body)
	if err == nil {
		return batch, nil
	}
	if !json.Valid(body) {
		return nil, err
	}
	batch = new(domain.WebhookBatch)
	acceptEnvelope(batch, body, err)
	return batch, nil
}

// acceptEnvelope splits a body that failed as a whole (with err) into its
// entries.
func acceptEnvelope(batch *domain.WebhookBatch, body []byte, err error) {
	var top struct {
		Object json.RawMessage `json:"object"`
		Entry  json.RawMessage `json:"entry"`
	}
	var entries []json.RawMessage
	whole := func(err error) {
		batch.Unreadable = append(batch.Unreadable, domain.UnreadablePart{Field: "webhook", Where: topLevel,
			Reason: reason(err), Value: body})
	}
	if json.Unmarshal(body, &top) != nil || json.Unmarshal(top.Entry, &entries) != nil || entries == nil {
		whole(err)
		return
	}
	// The envelope alone: a wrong or missing object fails here, once.
	if _, err := ParseWebhook(piece(top.Object, `[]`)); err != nil {
		whole(err)
		return
	}
	for ei, raw := range entries {
		acceptEntry(batch, top.Object, raw, ei)
	}
}

// rawEntry is an entry with its changes kept raw.
type rawEntry struct {
	ID      json.RawMessage   `json:"id"`
	Time    json.RawMessage   `json:"time"`
	Changes []json.RawMessage `json:"changes"`
}

func acceptEntry(batch *domain.WebhookBatch, object, raw json.RawMessage, ei int) {
	var e rawEntry
	entryWhere := fmt.Sprintf("entry[%d]", ei)
	b, err := ParseWebhook(piece(object, "["+string(raw)+"]"))
	if err == nil {
		batch.Append(b)
		return
	}
	if json.Unmarshal(raw, &e) != nil || e.Changes == nil {
		batch.Unreadable = append(batch.Unreadable, domain.UnreadablePart{Recipient: entryRecipient(raw, nil),
			Field: "webhook", Where: entryWhere, Reason: relocate(reason(err), "entry[0]", entryWhere), Value: raw})
		return
	}
	// The entry without its changes: an odd id or time fails here, once.
	if _, err := ParseWebhook(piece(object, entryOf(e, `[]`))); err != nil {
		batch.Unreadable = append(batch.Unreadable, domain.UnreadablePart{Recipient: entryRecipient(raw, nil),
			Field: "webhook", Where: entryWhere, Reason: relocate(reason(err), "entry[0]", entryWhere), Value: raw})
		return
	}
	for ci, c := range e.Changes {
		acceptChange(batch, object, e, c, ei, ci)
	}
}

// rawChange is a change with its value kept raw.
type rawChange struct {
	Field string          `json:"field"`
	Value json.RawMessage `json:"value"`
}

// splitArrays are the arrays of a "messages" value whose elements are
// events of their own, set aside one by one.
var splitArrays = []string{"statuses", "messages", "errors"}

func acceptChange(batch *domain.WebhookBatch, object json.RawMessage, e rawEntry, raw json.RawMessage, ei, ci int) {
	where := fmt.Sprintf("entry[%d].changes[%d]", ei, ci)
	b, err := ParseWebhook(piece(object, entryOf(e, "["+string(raw)+"]")))
	if err == nil {
		batch.Append(b)
		return
	}
	var c rawChange
	_ = json.Unmarshal(raw, &c) // a change that is not an object is set aside below
	rcpt := entryRecipient(e.ID, c.Value)
	field := c.Field
	if field == "" {
		field = "webhook"
	}
	setAside := func(err error, part string, value json.RawMessage) {
		r := relocate(reason(err), "entry[0].changes[0]", where)
		batch.Unreadable = append(batch.Unreadable, domain.UnreadablePart{Recipient: rcpt, Field: truncate(field),
			Where: where + part, Reason: r, Value: value})
	}
	var value map[string]json.RawMessage
	if c.Field != FieldMessages || json.Unmarshal(c.Value, &value) != nil {
		setAside(err, "", raw)
		return
	}
	// A "messages" value: each status, inbound message and error alone,
	// with the metadata and contacts they are read with.
	common := map[string]json.RawMessage{}
	for k, v := range value {
		if !isSplitArray(k) {
			common[k] = v
		}
	}
	parts := 0
	for _, name := range splitArrays {
		var elems []json.RawMessage
		if json.Unmarshal(value[name], &elems) != nil {
			if !isNull(value[name]) {
				setAside(err, "."+name, value[name])
				parts++
			}
			continue
		}
		for i, el := range elems {
			one := make(map[string]json.RawMessage, len(common)+1)
			for k, v := range common {
				one[k] = v
			}
			one[name] = json.RawMessage("[" + string(el) + "]")
			v, _ := json.Marshal(one)
			ch, _ := json.Marshal(rawChange{Field: c.Field, Value: v})
			b, err := ParseWebhook(piece(object, entryOf(e, "["+string(ch)+"]")))
			parts++
			if err == nil {
				batch.Append(b)
				continue
			}
			part := fmt.Sprintf(".%s[%d]", name, i)
			err = relocateErr(err, name+"[0]", fmt.Sprintf("%s[%d]", name, i))
			setAside(err, part, el)
		}
	}
	if parts == 0 {
		setAside(err, "", raw)
	}
}

func isSplitArray(name string) bool {
	for _, n := range splitArrays {
		if n == name {
			return true
		}
	}
	return false
}

// piece is a webhook body of object and entries.
func piece(object json.RawMessage, entries string) []byte {
	if object == nil {
		object = json.RawMessage("null")
	}
	return []byte(`{"object":` + string(object) + `,"entry":` + entries + `}`)
}

// entryOf is e with changes in place of its own.
func entryOf(e rawEntry, changes string) string {
	s := `{"changes":` + changes
	if e.ID != nil {
		s += `,"id":` + string(e.ID)
	}
	if e.Time != nil {
		s += `,"time":` + string(e.Time)
	}
	return "[" + s + "}]"
}

// entryRecipient reads what it can of the number a part was addressed to,
// so it is shown to the admins of its channel.
func entryRecipient(id, value json.RawMessage) domain.Recipient {
	var r domain.Recipient
	var waba flexString
	if json.Unmarshal(id, &waba) == nil {
		r.WABAID = string(waba)
	} else {
		var e struct {
			ID flexString `json:"id"`
		}
		if json.Unmarshal(id, &e) == nil {
			r.WABAID = string(e.ID)
		}
	}
	var v struct {
		Metadata struct {
			DisplayPhoneNumber json.RawMessage `json:"display_phone_number"`
			PhoneNumberID      json.RawMessage `json:"phone_number_id"`
		} `json:"metadata"`
	}
	if json.Unmarshal(value, &v) == nil {
		var s string
		if json.Unmarshal(v.Metadata.PhoneNumberID, &s) == nil {
			r.PhoneNumberID = s
		}
		if json.Unmarshal(v.Metadata.DisplayPhoneNumber, &s) == nil {
			r.DisplayPhone = s
		}
	}
	return r
}

// reason is err's message for an admin.
func reason(err error) string {
	var e *domain.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// relocate names a part of a piece by its place in the whole body: the
// piece's one entry, change or element is the first of its kind.
func relocate(msg, inPiece, inBody string) string {
	return strings.Replace(msg, inPiece, inBody, 1)
}

func relocateErr(err error, inPiece, inBody string) error {
	return domain.Errorf(domain.EINVALID, "%s", relocate(reason(err), inPiece, inBody))
}
