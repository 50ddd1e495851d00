package i18n

import "testing"

func TestLabelsRefusesADuplicate(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("a key given twice was taken")
		}
	}()
	labels(map[string]map[string]string{"en": {"common.save": "Save again"}})
}
