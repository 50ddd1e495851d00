package whatsapp

import (
	"bytes"
	"unicode/utf8"
)

// decodeFast decodes body into env as json.Unmarshal would, for the bodies
// the hot path carries: status webhooks (with their contacts, errors,
// conversation and pricing) and other changes whose values it skips. It
// reports false for anything else — a null, an escaped or non-UTF-8 string,
// an inbound "messages" array, a key that differs from a field's name only
// in case, a repeated key, a value of an unexpected type, bad JSON — and the
// caller then decodes with encoding/json, whose answer is the reference:
// FuzzDecodeFast checks that whenever decodeFast succeeds, encoding/json
// decodes the same body to the same envelope.
//
// encoding/json reads a status webhook at about 10 µs on the reference
// machine (a validating pass, then a reflective one), a tenth of what
// storing and applying the event costs in all.
func decodeFast(body []byte, env *envelope) bool {
	d := fastDecoder{b: body, s: string(body)}
	d.ws()
	if !d.envelope(env) {
		return false
	}
	d.ws()
	return d.i == len(d.b)
}

type fastDecoder struct {
	b     []byte
	s     string // b as a string, copied once: decoded strings are slices of it
	i     int
	depth int
}

// maxSkipDepth bounds the nesting of skipped values; deeper ones are left
// to encoding/json.
const maxSkipDepth = 64

func (d *fastDecoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *fastDecoder) peek() byte {
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

func (d *fastDecoder) eat(c byte) bool {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// rawString returns the bytes of the string at the cursor, without its
// quotes, for a string with no escapes and no control characters; ok is
// false otherwise.
func (d *fastDecoder) rawString() (s []byte, ascii, ok bool) {
	d.ws()
	if d.peek() != '"' {
		return nil, false, false
	}
	start := d.i + 1
	ascii = true
	for j := start; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '"':
			d.i = j + 1
			return d.b[start:j], ascii, true
		case c == '\\' || c < 0x20:
			return nil, false, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false, false
}

// str decodes a string value.
func (d *fastDecoder) str(dst *string) bool {
	s, ascii, ok := d.rawString()
	if !ok || (!ascii && !utf8.Valid(s)) {
		return false
	}
	end := d.i - 1 // the closing quote
	*dst = d.s[end-len(s) : end]
	return true
}

// number returns the text of the JSON number at the cursor, checked
// against JSON's grammar.
func (d *fastDecoder) number() ([]byte, bool) {
	d.ws()
	b, i := d.b, d.i
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return nil, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return nil, false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return nil, false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	d.i = i
	return b[start:i], true
}

// integer decodes a whole number into an int, as encoding/json does for
// an int field; a fraction, an exponent or a number too large for an int64
// is left to encoding/json.
func (d *fastDecoder) integer(dst *int) bool {
	n, ok := d.number()
	if !ok {
		return false
	}
	neg := n[0] == '-'
	digits := n
	if neg {
		digits = n[1:]
	}
	if len(digits) > 18 {
		return false
	}
	v := 0
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
		v = v*10 + int(c-'0')
	}
	if neg {
		v = -v
	}
	*dst = v
	return true
}

func (d *fastDecoder) boolPtr(dst **bool) bool {
	d.ws()
	var v bool
	switch {
	case bytes.HasPrefix(d.b[d.i:], []byte("true")):
		v, d.i = true, d.i+4
	case bytes.HasPrefix(d.b[d.i:], []byte("false")):
		v, d.i = false, d.i+5
	default:
		return false
	}
	*dst = &v
	return true
}

// scalarRaw returns the raw JSON text of a string (escape-free) or number
// value, as encoding/json hands it to an UnmarshalJSON method.
func (d *fastDecoder) scalarRaw() ([]byte, bool) {
	d.ws()
	start := d.i
	switch c := d.peek(); {
	case c == '"':
		if _, _, ok := d.rawString(); !ok {
			return nil, false
		}
	case c == '-' || (c >= '0' && c <= '9'):
		if _, ok := d.number(); !ok {
			return nil, false
		}
	default:
		return nil, false
	}
	return d.b[start:d.i], true
}

func (d *fastDecoder) unixTime(dst *unixTime) bool {
	raw, ok := d.scalarRaw()
	if !ok {
		return false
	}
	return dst.UnmarshalJSON(raw) == nil
}

func (d *fastDecoder) flexString(dst *flexString) bool {
	d.ws()
	if d.peek() == '"' {
		var s string
		if !d.str(&s) {
			return false
		}
		*dst = flexString(s)
		return true
	}
	n, ok := d.number()
	if !ok {
		return false
	}
	*dst = flexString(n)
	return true
}

// object decodes an object whose keys are named in keys: field is called
// with a key's index to decode its value. A key not in keys is skipped,
// unless it is one of them in another case (encoding/json would match it);
// a repeated key is left to encoding/json.
func (d *fastDecoder) object(keys []string, field func(k int) bool) bool {
	if !d.eat('{') {
		return false
	}
	if d.eat('}') {
		return true
	}
	var seen uint64
	for {
		key, ascii, ok := d.rawString()
		if !ok || !ascii || !d.eat(':') {
			return false
		}
		k := -1
		for i, name := range keys {
			if string(key) == name {
				k = i
				break
			}
		}
		switch {
		case k >= 0:
			if seen&(1<<k) != 0 {
				return false
			}
			seen |= 1 << k
			if !field(k) {
				return false
			}
		default:
			for _, name := range keys {
				if bytes.EqualFold(key, []byte(name)) {
					return false
				}
			}
			if !d.skip() {
				return false
			}
		}
		if d.eat(',') {
			continue
		}
		return d.eat('}')
	}
}

// array decodes an array, calling elem for each element; it returns how
// many there were.
func (d *fastDecoder) array(elem func(i int) bool) (int, bool) {
	if !d.eat('[') {
		return 0, false
	}
	if d.eat(']') {
		return 0, true
	}
	for n := 0; ; n++ {
		if !elem(n) {
			return 0, false
		}
		if d.eat(',') {
			continue
		}
		return n + 1, d.eat(']')
	}
}

// skip passes over any JSON value, checking its syntax as encoding/json
// does; a string with an escape is left to encoding/json.
func (d *fastDecoder) skip() bool {
	d.ws()
	switch c := d.peek(); {
	case c == '"':
		_, _, ok := d.rawString()
		return ok
	case c == '-' || (c >= '0' && c <= '9'):
		_, ok := d.number()
		return ok
	case c == '{' || c == '[':
		if d.depth++; d.depth > maxSkipDepth {
			return false
		}
		defer func() { d.depth-- }()
		if c == '[' {
			_, ok := d.array(func(int) bool { return d.skip() })
			return ok
		}
		d.i++
		if d.eat('}') {
			return true
		}
		for {
			if _, _, ok := d.rawString(); !ok || !d.eat(':') || !d.skip() {
				return false
			}
			if d.eat(',') {
				continue
			}
			return d.eat('}')
		}
	}
	for _, lit := range []string{"true", "false", "null"} {
		if bytes.HasPrefix(d.b[d.i:], []byte(lit)) {
			d.i += len(lit)
			return true
		}
	}
	return false
}

var (
	envelopeKeys     = []string{"object", "entry"}
	entryKeys        = []string{"id", "time", "changes"}
	changeKeys       = []string{"field", "value"}
	valueKeys        = []string{"metadata", "contacts", "statuses", "messages", "errors", "timestamp"}
	metadataKeys     = []string{"display_phone_number", "phone_number_id"}
	contactKeys      = []string{"profile", "wa_id", "user_id"}
	profileKeys      = []string{"name"}
	statusKeys       = []string{"id", "status", "timestamp", "recipient_id", "recipient_user_id", "errors", "conversation", "pricing", "biz_opaque_callback_data"}
	conversationKeys = []string{"id", "expiration_timestamp", "origin"}
	originKeys       = []string{"type"}
	pricingKeys      = []string{"pricing_model", "category", "type", "billable"}
	errorKeys        = []string{"code", "title", "message", "details", "error_data"}
	errorDataKeys    = []string{"details"}
)

func (d *fastDecoder) envelope(env *envelope) bool {
	return d.object(envelopeKeys, func(k int) bool {
		if k == 0 {
			return d.str(&env.Object)
		}
		env.Entry = make([]entry, 0, 1)
		_, ok := d.array(func(int) bool {
			env.Entry = append(env.Entry, entry{})
			return d.entry(&env.Entry[len(env.Entry)-1])
		})
		return ok
	})
}

func (d *fastDecoder) entry(e *entry) bool {
	return d.object(entryKeys, func(k int) bool {
		switch k {
		case 0:
			return d.flexString(&e.ID)
		case 1:
			return d.unixTime(&e.Time)
		}
		e.Changes = make([]change, 0, 1)
		_, ok := d.array(func(int) bool {
			e.Changes = append(e.Changes, change{})
			c := &e.Changes[len(e.Changes)-1]
			return d.object(changeKeys, func(k int) bool {
				if k == 0 {
					return d.str(&c.Field)
				}
				c.Value = new(messagesValue)
				return d.value(c.Value)
			})
		})
		return ok
	})
}

func (d *fastDecoder) value(v *messagesValue) bool {
	return d.object(valueKeys, func(k int) bool {
		switch k {
		case 0:
			return d.object(metadataKeys, func(k int) bool {
				if k == 0 {
					return d.str(&v.Metadata.DisplayPhoneNumber)
				}
				return d.str(&v.Metadata.PhoneNumberID)
			})
		case 1:
			v.Contacts = make([]contact, 0, 1)
			_, ok := d.array(func(int) bool {
				v.Contacts = append(v.Contacts, contact{})
				c := &v.Contacts[len(v.Contacts)-1]
				return d.object(contactKeys, func(k int) bool {
					switch k {
					case 0:
						return d.object(profileKeys, func(int) bool { return d.str(&c.Profile.Name) })
					case 1:
						return d.str(&c.WAID)
					}
					return d.str(&c.UserID)
				})
			})
			return ok
		case 2:
			v.Statuses = make([]rawStatus, 0, 1)
			_, ok := d.array(func(int) bool {
				v.Statuses = append(v.Statuses, rawStatus{})
				return d.status(&v.Statuses[len(v.Statuses)-1])
			})
			return ok
		case 3:
			return false // inbound messages: encoding/json
		case 4:
			return d.errors(&v.Errors)
		}
		return d.unixTime(&v.Timestamp)
	})
}

func (d *fastDecoder) status(s *rawStatus) bool {
	return d.object(statusKeys, func(k int) bool {
		switch k {
		case 0:
			return d.str(&s.ID)
		case 1:
			return d.str(&s.Status)
		case 2:
			return d.unixTime(&s.Timestamp)
		case 3:
			return d.str(&s.RecipientID)
		case 4:
			return d.str(&s.RecipientUserID)
		case 5:
			return d.errors(&s.Errors)
		case 6:
			c := new(rawConversation)
			s.Conversation = c
			return d.object(conversationKeys, func(k int) bool {
				switch k {
				case 0:
					return d.str(&c.ID)
				case 1:
					return d.unixTime(&c.ExpiresAt)
				}
				return d.object(originKeys, func(int) bool { return d.str(&c.Origin.Type) })
			})
		case 7:
			p := new(rawPricing)
			s.Pricing = p
			return d.object(pricingKeys, func(k int) bool {
				switch k {
				case 0:
					return d.str(&p.Model)
				case 1:
					return d.str(&p.Category)
				case 2:
					return d.str(&p.Type)
				}
				return d.boolPtr(&p.Billable)
			})
		}
		return d.str(&s.BizOpaque)
	})
}

func (d *fastDecoder) errors(dst *[]rawError) bool {
	*dst = make([]rawError, 0, 1)
	_, ok := d.array(func(int) bool {
		*dst = append(*dst, rawError{})
		e := &(*dst)[len(*dst)-1]
		return d.object(errorKeys, func(k int) bool {
			switch k {
			case 0:
				return d.integer(&e.Code)
			case 1:
				return d.str(&e.Title)
			case 2:
				return d.str(&e.Message)
			case 3:
				return d.str(&e.Details)
			}
			return d.object(errorDataKeys, func(int) bool { return d.str(&e.ErrorData.Details) })
		})
	})
	return ok
}
