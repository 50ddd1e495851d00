// Package phone turns the phone numbers ticks meets — typed by people,
// uploaded in CSV files, or sent by Meta as WhatsApp ids — into E.164, and
// decides when two of them belong to the same contact.
//
// Brazil is the awkward case: WhatsApp ids of mobiles registered before the
// ninth digit was added still lack it ("551187654321"), while the number
// itself, and every customer base, has it ("+5511987654321"). Canonical
// gives both the same matching key.
package phone

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// Reasons a number is refused; test with errors.Is. The messages say why but
// never repeat the number, so callers decide whether to show it (it is
// personal data).
var (
	// ErrEmpty means no number was given.
	ErrEmpty = errors.New("phone: empty number")
	// ErrNotANumber means the input is not a phone number at all (letters, no digits).
	ErrNotANumber = errors.New("phone: not a phone number")
	// ErrTooShort means there are too few digits for any number of the country.
	ErrTooShort = errors.New("phone: number too short")
	// ErrTooLong means there are more digits than any number of the country has.
	ErrTooLong = errors.New("phone: number too long")
	// ErrUnknownCountry means the country calling code does not exist.
	ErrUnknownCountry = errors.New("phone: unknown country code")
	// ErrInvalid means the digits have a possible length but are not a number in use in that country.
	ErrInvalid = errors.New("phone: not a valid number")
)

// WhatsApp ids are E.164 numbers without the plus: E.164 allows at most 15
// digits, and no country has numbers shorter than 8 with its calling code.
const (
	minWAIDDigits = 8
	maxWAIDDigits = 15
)

// Normalize parses a number as people write it ("+55 11 98765-4321",
// "(11) 98765-4321", "5511987654321") and returns it in E.164, with Brazilian
// mobiles in their canonical nine-digit form. A number without a country
// code is read in defaultRegion (an ISO 3166 code such as "BR"; empty means
// the number must carry its country code). It accepts only numbers valid in
// their country, since it guards what ticks will try to send to.
func Normalize(raw string, defaultRegion string) (e164 string, err error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", ErrEmpty
	}
	// phonenumbers would read letters as a vanity number ("1-800-FLOWERS");
	// in a customer base they are a mistake, not a keypad spelling.
	if strings.IndexFunc(raw, unicode.IsLetter) >= 0 {
		return "", fmt.Errorf("%w: contains letters", ErrNotANumber)
	}
	region := strings.ToUpper(strings.TrimSpace(defaultRegion))
	if region != "" && !phonenumbers.GetSupportedRegions()[region] {
		return "", fmt.Errorf("phone: unknown default region %q", defaultRegion)
	}

	e164, err = parseValid(raw, region)
	if err == nil {
		return e164, nil
	}
	// WhatsApp ids and many CSV exports carry the country code without the
	// plus. When the number makes no sense in the default region, try it as
	// international before giving up.
	if !strings.HasPrefix(raw, "+") {
		digits := phonenumbers.NormalizeDigitsOnly(raw)
		if len(digits) >= minWAIDDigits && len(digits) <= maxWAIDDigits {
			intl, intlErr := parseValid("+"+digits, "")
			if intlErr == nil {
				return intl, nil
			}
			if region == "" {
				// Without a default region the international reading is the
				// only one, so its reason is the one to report.
				return "", intlErr
			}
		}
	}
	return "", err
}

// parseValid parses s and returns its canonical E.164 form if it is a valid
// number, or an error wrapping one of the reasons above.
func parseValid(s, region string) (string, error) {
	num, err := phonenumbers.Parse(s, region)
	if err != nil {
		return "", parseError(err)
	}
	switch phonenumbers.IsPossibleNumberWithReason(num) {
	case phonenumbers.TOO_SHORT:
		return "", ErrTooShort
	case phonenumbers.TOO_LONG:
		return "", ErrTooLong
	case phonenumbers.INVALID_COUNTRY_CODE:
		return "", ErrUnknownCountry
	case phonenumbers.INVALID_LENGTH:
		return "", fmt.Errorf("%w: wrong number of digits for %s", ErrInvalid, numberRegion(num))
	}
	e164 := phonenumbers.Format(num, phonenumbers.E164)
	// A Brazilian mobile written without its ninth digit is not valid as
	// written but is a real number once the nine is back: return that.
	if canon := Canonical(e164); canon != e164 && isValidE164(canon) {
		return canon, nil
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", fmt.Errorf("%w for %s", ErrInvalid, numberRegion(num))
	}
	return e164, nil
}

// parseError maps phonenumbers' parse errors to this package's reasons, so
// callers need one vocabulary.
func parseError(err error) error {
	switch {
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		return ErrUnknownCountry
	case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
		return ErrTooShort
	case errors.Is(err, phonenumbers.ErrNumTooLong):
		return ErrTooLong
	default:
		return ErrNotANumber
	}
}

// numberRegion names the country of num for error messages; invalid numbers
// often have no region of their own, so fall back to the calling code's.
func numberRegion(num *phonenumbers.PhoneNumber) string {
	if r := phonenumbers.GetRegionCodeForNumber(num); r != "" {
		return r
	}
	if r := phonenumbers.GetRegionCodeForCountryCode(int(num.GetCountryCode())); r != "" && r != "ZZ" {
		return r
	}
	return fmt.Sprintf("+%d", num.GetCountryCode())
}

func isValidE164(s string) bool {
	num, err := phonenumbers.Parse(s, "")
	return err == nil && phonenumbers.IsValidNumber(num)
}

// FromWAID turns a WhatsApp id (the number's digits with country code, no
// plus) into E.164. It checks only that the length is possible for the
// country, not that the number is valid: Meta's own test numbers
// (+1 555 …) and Brazilian ids without the ninth digit are not valid, yet
// they are real senders and must be recorded as they come. The digits are
// kept exactly; use Canonical to match them against contacts.
func FromWAID(waID string) (e164 string, err error) {
	digits := strings.TrimPrefix(strings.TrimSpace(waID), "+")
	switch {
	case digits == "":
		return "", ErrEmpty
	case !isDigits(digits):
		return "", fmt.Errorf("%w: a WhatsApp id has digits only", ErrNotANumber)
	case len(digits) < minWAIDDigits:
		return "", ErrTooShort
	case len(digits) > maxWAIDDigits:
		return "", ErrTooLong
	}
	num, err := phonenumbers.Parse("+"+digits, "")
	if err != nil {
		return "", parseError(err)
	}
	switch phonenumbers.IsPossibleNumberWithReason(num) {
	case phonenumbers.TOO_SHORT:
		return "", ErrTooShort
	case phonenumbers.TOO_LONG:
		return "", ErrTooLong
	case phonenumbers.INVALID_COUNTRY_CODE:
		return "", ErrUnknownCountry
	case phonenumbers.INVALID_LENGTH:
		return "", fmt.Errorf("%w: wrong number of digits for %s", ErrInvalid, numberRegion(num))
	}
	return "+" + digits, nil
}

// Canonical returns the key two forms of the same number share: "+" and the
// digits, with the ninth digit inserted into Brazilian mobiles written
// without it (country 55, two-digit area code, eight-digit subscriber
// starting with 6–9). Landlines (subscriber starting with 2–5) and other
// countries are left alone. It accepts E.164 or a bare WhatsApp id, and
// returns anything that is not digits unchanged. It does no parsing, so it
// is cheap enough for every webhook.
func Canonical(e164 string) string {
	canon, ok := canonical(e164)
	if !ok {
		return e164
	}
	return canon
}

func canonical(number string) (string, bool) {
	digits := strings.TrimPrefix(number, "+")
	if !isDigits(digits) {
		return "", false
	}
	if isBrazilianMobileWithoutNine(digits) {
		digits = digits[:4] + "9" + digits[4:]
	}
	return "+" + digits, true
}

// isBrazilianMobileWithoutNine reports whether digits are 55 + area code +
// an eight-digit subscriber that only mobiles use. Area codes (DDD) never
// contain a zero.
func isBrazilianMobileWithoutNine(digits string) bool {
	return len(digits) == 12 &&
		digits[:2] == "55" &&
		digits[2] >= '1' && digits[3] >= '1' &&
		digits[4] >= '6' && digits[4] <= '9'
}

// SameContact reports whether a and b (E.164 or WhatsApp ids) are the same
// number once both are in canonical form. Anything that is not a number
// matches nothing, not even itself.
func SameContact(a, b string) bool {
	ca, okA := canonical(a)
	cb, okB := canonical(b)
	return okA && okB && ca == cb
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
