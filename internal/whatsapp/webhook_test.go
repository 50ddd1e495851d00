package whatsapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ticksapp/ticks/internal/domain"
)

// fixturesDir holds the Meta payloads copied from shared/whatsapp
// (testdata/whatsapp/README.md says where each comes from).
const fixturesDir = "../../testdata/whatsapp"

// webhookFixtures lists the fixture files that are webhooks (they have an
// "object"), relative to fixturesDir; send requests, send responses and
// synchronous errors are left out.
func webhookFixtures(tb testing.TB) []string {
	tb.Helper()
	if _, err := os.Stat(fixturesDir); err != nil {
		tb.Fatalf("fixtures not found at %s: %v", fixturesDir, err)
	}
	var files []string
	for _, pattern := range []string{"meta_openapi/webhook_*.json", "netflie/*.json", "meta_docs_constructed/*.json"} {
		matches, err := filepath.Glob(filepath.Join(fixturesDir, pattern))
		if err != nil {
			tb.Fatal(err)
		}
		if len(matches) == 0 {
			tb.Fatalf("no fixture matches %s under %s", pattern, fixturesDir)
		}
		for _, path := range matches {
			base := filepath.Base(path)
			if strings.HasPrefix(base, "send_") || strings.HasPrefix(base, "sync_error_") {
				continue
			}
			var probe map[string]json.RawMessage
			if err := json.Unmarshal(readFile(tb, path), &probe); err != nil {
				tb.Fatalf("%s: %v", path, err)
			}
			if _, ok := probe["object"]; !ok {
				continue
			}
			rel, _ := filepath.Rel(fixturesDir, path)
			files = append(files, filepath.ToSlash(rel))
		}
	}
	sort.Strings(files)
	return files
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func ts(sec int64) time.Time { return time.Unix(sec, 0).UTC() }

func ptr[T any](v T) *T { return &v }

var (
	rcptMetaA     = domain.Recipient{WABAID: "419561257915477", PhoneNumberID: "106540352242922", DisplayPhone: "15550783881"}
	rcptMetaB     = domain.Recipient{WABAID: "102290129340398", PhoneNumberID: "106540352242922", DisplayPhone: "15550783881"}
	rcptNetflie   = domain.Recipient{WABAID: "WHATSAPP_BUSINESS_ACCOUNT_ID", PhoneNumberID: "PHONE_NUMBER_ID", DisplayPhone: "PHONE_NUMBER"}
	rcptNetflieSt = domain.Recipient{WABAID: "108536708899139", PhoneNumberID: "CUSTOMER_PHONE_NUMBER", DisplayPhone: "CUSTOMER_PHONE_NUMBER"}
)

// The one outbound message every meta_docs_constructed status is about.
const docsWAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA"

// docsFailed is a failed status of the meta_docs_constructed set, which all
// share id, time and recipient and differ in their error.
func docsFailed(code int, title, details string) []domain.StatusEvent {
	return []domain.StatusEvent{{
		Recipient: rcptMetaB, WAMID: docsWAMID, State: domain.StateFailed, Timestamp: ts(1750263790),
		RecipientWAID: "16505551234",
		Errors:        []domain.MetaError{{Code: code, Title: title, Message: title, Details: details}},
	}}
}

// netflieCBP is a netflie conversation-based-pricing status of one category.
func netflieCBP(category string) []domain.StatusEvent {
	return []domain.StatusEvent{{
		Recipient: rcptNetflieSt, WAMID: "wamid.ID", State: domain.StateDelivered, Timestamp: ts(1685626673),
		RecipientWAID: "CUSTOMER_PHONE_NUMBER",
		Conversation:  &domain.MetaConversation{ID: "CONVERSATION_ID", Origin: category},
		Pricing:       &domain.Pricing{Model: "CBP", Category: category, Billable: ptr(true)},
	}}
}

// netflieMO is a netflie inbound message with the fields most of them share.
func netflieMO(from, typ, text string) domain.InboundMessage {
	return domain.InboundMessage{
		Recipient: rcptNetflie, WAMID: "wamid.ID", FromWAID: from, ProfileName: "NAME",
		Timestamp: ts(1669233778), Type: typ, Text: text,
	}
}

// metaMO is an inbound message of the meta_openapi set from Sheena Nelson.
func metaMO(rcpt domain.Recipient, wamid string, sec int64, typ, text string) domain.InboundMessage {
	return domain.InboundMessage{
		Recipient: rcpt, WAMID: wamid, FromWAID: "16505551234", ProfileName: "Sheena Nelson",
		Timestamp: ts(sec), Type: typ, Text: text,
	}
}

func with(m domain.InboundMessage, set func(*domain.InboundMessage)) domain.InboundMessage {
	set(&m)
	return m
}

// fixtureWant is what a fixture must parse to. Message Content is not
// listed: it is checked against the fixture itself in checkContents.
type fixtureWant struct {
	statuses []domain.StatusEvent
	messages []domain.InboundMessage
	prefs    []domain.PreferenceEvent
	errors   []domain.ErrorEvent
	unknown  []domain.Recipient // one per unknown change; Field and Value are checked against the fixture
	fields   []string           // fields of the unknown changes
}

var fixtureWants = map[string]fixtureWant{
	// Meta's OpenAPI examples.
	"meta_openapi/webhook_button_message.json": {messages: []domain.InboundMessage{
		with(metaMO(rcptMetaA, "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUU0M0MxQzQzMUJCMTMwNUZFOQA=", 1750091045, "button", "Unsubscribe"),
			func(m *domain.InboundMessage) {
				m.ButtonPayload = "Unsubscribe"
				m.ContextWAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJFNjk2OTMwNEZCQjhGMzUyQUYA"
				m.ContextFrom = "15550783881"
			}),
	}},
	"meta_openapi/webhook_contact_sharing_message.json": {messages: []domain.InboundMessage{
		metaMO(rcptMetaA, "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=", 1744344496, "contacts", "Lucía Gómez"),
	}},
	"meta_openapi/webhook_group_create_message.json": {
		unknown: []domain.Recipient{rcptMetaB}, fields: []string{"group_lifecycle_update"},
	},
	"meta_openapi/webhook_group_remove_participants.json": {
		unknown: []domain.Recipient{rcptMetaB}, fields: []string{"group_participants_update"},
	},
	"meta_openapi/webhook_group_settings_update.json": {
		unknown: []domain.Recipient{rcptMetaB}, fields: []string{"group_settings_update"},
	},
	"meta_openapi/webhook_image_message.json": {messages: []domain.InboundMessage{
		metaMO(rcptMetaA, "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=", 1744344496, "image", "Taj Mahal"),
	}},
	"meta_openapi/webhook_interactive_button_reply_message.json": {messages: []domain.InboundMessage{
		with(metaMO(rcptMetaA, "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTZBQzg0MzQ4QjRCM0NGNkVGOAA=", 1750025136, "interactive", "Cancel"),
			func(m *domain.InboundMessage) {
				m.ButtonPayload = "cancel-button"
				m.ContextWAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MEM2RUJFNkI0RENGQTVDRjUA"
				m.ContextFrom = "15550783881"
			}),
	}},
	"meta_openapi/webhook_interactive_list_reply_message.json": {messages: []domain.InboundMessage{
		with(metaMO(rcptMetaA, "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUJDQ0NDM0FEODY4ODkzOTc5RgA=", 1749854575, "interactive", "Priority Mail Express"),
			func(m *domain.InboundMessage) {
				m.ButtonPayload = "priority_express"
				m.ContextWAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJGMzEyNzhENTZDMzNGODlDRDgA"
				m.ContextFrom = "15550783881"
			}),
	}},
	"meta_openapi/webhook_location_message.json": {messages: []domain.InboundMessage{
		metaMO(rcptMetaA, "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTU2MjZEMDBGRkE3MENEMDE0RQA=", 1744344496, "location",
			"Philz Coffee, 101 Forest Ave, Palo Alto, CA 94301"),
	}},
	"meta_openapi/webhook_order_message.json": {messages: []domain.InboundMessage{
		// The order text is empty, so the catalog id stands in.
		metaMO(rcptMetaA, "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTEyQjFGNzI1QTQxMjI5QTMyOQA=", 1750096325, "order", "194836987003835"),
	}},
	"meta_openapi/webhook_reaction_message.json": {messages: []domain.InboundMessage{
		with(metaMO(rcptMetaA, "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=", 1749419544, "reaction", "👍"),
			func(m *domain.InboundMessage) {
				m.ContextWAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0RTJEOTc2ODVERUY5RDlGNkYA"
			}),
	}},
	"meta_openapi/webhook_system_message.json": {messages: []domain.InboundMessage{
		with(metaMO(rcptMetaB, "wamid.HBgLMTk4MzU1NTE5NzQVAgASGAoxMTgyMDg2MjY3AA==", 1750269342, "system",
			"User Sheena Nelson changed from 16505551234 to 12195555358"),
			func(m *domain.InboundMessage) { m.ProfileName = "" }), // no contacts[]
	}},
	"meta_openapi/webhook_text_message.json": {messages: []domain.InboundMessage{
		metaMO(rcptMetaA, "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=", 1749416383, "text", "Does it come in another color?"),
	}},
	"meta_openapi/webhook_text_message_from_click_to_whatsapp_ad.json": {messages: []domain.InboundMessage{
		with(metaMO(rcptMetaB, "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUQ0N0VFMDA2MTQ0RkJFNkNDNAA=", 1750275992, "text", "Hello! Can I get more info on this?"),
			func(m *domain.InboundMessage) {
				m.Referral = &domain.Referral{
					SourceURL: "https://fb.me/3cr4Wqqkv", SourceID: "120226305854810726", SourceType: "ad",
					Headline: "Chat with us", Body: "Summer Succulents are here!", MediaType: "image",
					CTWAClid: "Aff-n8ZTODiE79d22KtAwQKj9e_mIEOOj27vDVwFjN80dp4_0NiNhEgpGo0AHemvuSoifXaytfTzcchptiErTKCqTrJ5nW1h7IHYeYymGb5K5J5iTROpBhWAGaIAeUzHL50",
				}
			}),
	}},
	"meta_openapi/webhook_text_message_with_context_product_inquiry.json": {messages: []domain.InboundMessage{
		with(metaMO(rcptMetaB, "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTA2NTUwRkNEMDdFQjJCRUU0NQA=", 1750016800, "text", "Is this still available?"),
			func(m *domain.InboundMessage) {
				m.ContextWAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGA9wcm9kdWN0X2lucXVpcnkA"
				m.ContextFrom = "15550783881"
			}),
	}},
	"meta_openapi/webhook_unsupported_message.json": {messages: []domain.InboundMessage{
		with(metaMO(rcptMetaA, "wamid.HBgLMTQyMDU1NTA3NDkVAgASGBI5N0MwRjg0RTVBNUI1RDA2OTkA", 1750090702, "unsupported", ""),
			func(m *domain.InboundMessage) {
				m.Errors = []domain.MetaError{{Code: 131051, Title: "Message type unknown", Message: "Message type unknown",
					Details: "Message type is currently not supported."}}
			}),
	}},

	// netflie/whatsapp-cloud-api unit-test payloads.
	"netflie/can_build_a_button_notification.json": {messages: []domain.InboundMessage{
		with(netflieMO("16315551234", "button", "No"), func(m *domain.InboundMessage) {
			m.ButtonPayload = "No-Button-Payload"
			m.ContextWAMID, m.ContextFrom = "wamid.ID", "PHONE_NUMBER"
		}),
	}},
	"netflie/can_build_a_button_reply_notification.json": {messages: []domain.InboundMessage{
		with(netflieMO("PHONE_NUMBER_ID", "interactive", "button-text"), func(m *domain.InboundMessage) {
			m.ButtonPayload = "unique-button-identifier-here"
		}),
	}},
	"netflie/can_build_a_contact_notification.json": {messages: []domain.InboundMessage{
		netflieMO("PHONE_NUMBER", "contacts", "CONTACT_FORMATTED_NAME"),
	}},
	"netflie/can_build_a_flow_notification.json": {messages: []domain.InboundMessage{
		netflieMO("PHONE_NUMBER_ID", "interactive", "Sent"),
	}},
	"netflie/can_build_a_forwarded_notification.json": {messages: []domain.InboundMessage{
		// context carries only "forwarded": no message is being answered.
		netflieMO("16315551234", "text", "MESSAGE_BODY"),
	}},
	"netflie/can_build_a_list_notification.json": {messages: []domain.InboundMessage{
		with(netflieMO("PHONE_NUMBER_ID", "interactive", "list_reply_title"), func(m *domain.InboundMessage) {
			m.ButtonPayload = "list_reply_id"
		}),
	}},
	"netflie/can_build_a_location_notification.json": {messages: []domain.InboundMessage{
		netflieMO("PHONE_NUMBER", "location", "LOCATION_NAME, LOCATION_ADDRESS"),
	}},
	"netflie/can_build_a_marketing_status_notification.json": {statuses: netflieCBP("marketing")},
	"netflie/can_build_a_notification.json": {messages: []domain.InboundMessage{
		with(netflieMO("16315551234", "button", "No"), func(m *domain.InboundMessage) {
			m.ButtonPayload = "No-Button-Payload"
			m.ContextWAMID, m.ContextFrom = "wamid.ID", "PHONE_NUMBER"
			m.Referral = &domain.Referral{SourceURL: "AD_OR_POST_FB_URL", SourceID: "ADID", SourceType: "ad or post",
				Headline: "AD_TITLE", Body: "AD_DESCRIPTION", MediaType: "image or video"}
		}),
	}},
	"netflie/can_build_a_notification_with_bsuid_only_and_no_from.json": {messages: []domain.InboundMessage{
		with(netflieMO("", "text", "MESSAGE_BODY"), func(m *domain.InboundMessage) { m.FromUserID = "BSUID_123" }),
	}},
	"netflie/can_build_a_reaction_notification.json": {messages: []domain.InboundMessage{
		with(netflieMO("PHONE_NUMBER", "reaction", "EMOJI"), func(m *domain.InboundMessage) { m.ContextWAMID = "MESSAGE_ID" }),
	}},
	"netflie/can_build_a_removed_reaction_notification.json": {messages: []domain.InboundMessage{
		with(netflieMO("PHONE_NUMBER", "reaction", ""), func(m *domain.InboundMessage) { m.ContextWAMID = "MESSAGE_ID" }),
	}},
	"netflie/can_build_a_service_status_notification.json": {statuses: netflieCBP("service")},
	"netflie/can_build_a_status_conversation_initiated_notification.json": {statuses: []domain.StatusEvent{{
		Recipient: rcptNetflie, WAMID: "wamid.ID", State: domain.StateRead, Timestamp: ts(1669233778),
		RecipientWAID: "CUSTOMER_PHONE_NUMBER",
		// expiration_timestamp is a number here, a string elsewhere.
		Conversation: &domain.MetaConversation{ID: "CONVERSATION_ID", Origin: "user_initiated", ExpiresAt: ts(1669233778)},
	}}},
	"netflie/can_build_a_status_notification.json": {statuses: []domain.StatusEvent{{
		Recipient: domain.Recipient{WABAID: "114957184830690", PhoneNumberID: "CUSTOMER_PHONE_NUMBER", DisplayPhone: "CUSTOMER_PHONE_NUMBER"},
		WAMID:     "wamid.ID", State: domain.StateRead, Timestamp: ts(1674914356),
		RecipientWAID: "CUSTOMER_PHONE_NUMBER",
	}}},
	"netflie/can_build_a_status_notification_with_errors.json": {statuses: []domain.StatusEvent{{
		Recipient: domain.Recipient{WABAID: "114957184830690", PhoneNumberID: "102944729380254", DisplayPhone: "15550483457"},
		WAMID:     "amid.ID", State: domain.StateFailed, Timestamp: ts(1674912647),
		RecipientWAID: "CUSTOMER_PHONE_NUMBER",
		Errors:        []domain.MetaError{{Code: 131053, Title: "ERROR_TITLE"}},
	}}},
	"netflie/can_build_a_status_notification_without_expiration_time.json": {statuses: []domain.StatusEvent{{
		Recipient: rcptNetflie, WAMID: "wamid.ID", State: domain.StateDelivered, Timestamp: ts(1669233778),
		RecipientWAID: "CUSTOMER_PHONE_NUMBER",
		Conversation:  &domain.MetaConversation{ID: "CONVERSATION_ID", Origin: "user_initiated"},
	}}},
	"netflie/can_build_a_status_with_pricing_notification.json": {statuses: []domain.StatusEvent{{
		Recipient: rcptNetflie, WAMID: "wamid.ID", State: domain.StateDelivered, Timestamp: ts(1690327464),
		RecipientWAID: "CUSTOMER_PHONE_NUMBER",
		Conversation:  &domain.MetaConversation{ID: "CONVERSATION_ID", Origin: "marketing"},
		Pricing:       &domain.Pricing{Model: "CBP", Category: "marketing", Billable: ptr(true)},
	}}},
	"netflie/can_build_a_sticker_notification.json": {messages: []domain.InboundMessage{
		with(netflieMO("SENDER_PHONE_NUMBER", "sticker", ""), func(m *domain.InboundMessage) {
			m.Recipient = domain.Recipient{WABAID: "ID", PhoneNumberID: "PHONE_NUMBER_ID", DisplayPhone: "PHONE_NUMBER"}
		}),
	}},
	"netflie/can_build_a_system_notification.json": {messages: []domain.InboundMessage{
		with(netflieMO("PHONE_NUMBER", "system", "NAME changed from PHONE_NUMBER to PHONE_NUMBER"), func(m *domain.InboundMessage) {
			m.PhoneNumberID = "NEW_PHONE_NUMBER_ID"
			m.ProfileName = ""
		}),
	}},
	"netflie/can_build_a_text_notification.json": {messages: []domain.InboundMessage{
		netflieMO("PHONE_NUMBER", "text", "MESSAGE_BODY"),
	}},
	"netflie/can_build_an_authentication_status_notification.json": {statuses: netflieCBP("authentication")},
	"netflie/can_build_an_document_notification.json": {messages: []domain.InboundMessage{
		netflieMO("PHONE_NUMBER", "document", "CAPTION_TEXT"),
	}},
	"netflie/can_build_an_image_notification.json": {messages: []domain.InboundMessage{
		netflieMO("PHONE_NUMBER", "image", "CAPTION_TEXT"),
	}},
	"netflie/can_build_an_order_notification.json": {messages: []domain.InboundMessage{
		netflieMO("PHONE_NUMBER_ID", "order", "text-message-sent-along-with-the-order"),
	}},
	"netflie/can_build_an_unknown_notification.json": {messages: []domain.InboundMessage{
		with(netflieMO("PHONE_NUMBER", "unknown", ""), func(m *domain.InboundMessage) {
			// details sits beside code here, not in error_data.
			m.Errors = []domain.MetaError{{Code: 131051, Title: "Unsupported message type", Details: "Message type is not currently supported"}}
		}),
	}},
	"netflie/can_build_an_utility_status_notification.json": {statuses: netflieCBP("utility")},
	"netflie/can_build_multiple_text_notification.json": {messages: []domain.InboundMessage{
		netflieMO("PHONE_NUMBER", "text", "MESSAGE_BODY"),
		with(netflieMO("PHONE_NUMBER", "text", "MESSAGE_BODY2"), func(m *domain.InboundMessage) { m.Timestamp = ts(1669233779) }),
	}},
	"netflie/can_keep_wa_id_priority_when_user_id_is_present.json": {messages: []domain.InboundMessage{
		with(netflieMO("PHONE_NUMBER", "text", "MESSAGE_BODY"), func(m *domain.InboundMessage) { m.FromUserID = "BSUID_123" }),
	}},
	"netflie/without_contact_profile_can_build_a_notification.json": {messages: []domain.InboundMessage{
		with(netflieMO("PHONE_NUMBER", "text", "MESSAGE_BODY"), func(m *domain.InboundMessage) { m.ProfileName = "" }),
	}},

	// Built from Meta's documented syntax.
	"meta_docs_constructed/status_delivered_pmp_utility_free_customer_service_v24.json": {statuses: []domain.StatusEvent{{
		Recipient: rcptMetaB, WAMID: docsWAMID, State: domain.StateDelivered, Timestamp: ts(1750263780),
		RecipientWAID: "16505551234", ProfileName: "Sheena Nelson",
		Pricing: &domain.Pricing{Model: "PMP", Category: "utility", Type: "free_customer_service", Billable: ptr(false)},
	}}},
	"meta_docs_constructed/status_failed_130472_experiment.json": {statuses: docsFailed(130472,
		"User's number is part of an experiment",
		"Failed to send message because this user's phone number is part of an experiment")},
	"meta_docs_constructed/status_failed_131026_undeliverable.json": {statuses: docsFailed(131026,
		"Message undeliverable", "Message Undeliverable.")},
	"meta_docs_constructed/status_failed_131047_reengagement.json": {statuses: docsFailed(131047,
		"Re-engagement message",
		"Message failed to send because more than 24 hours have passed since the customer last replied to this number.")},
	"meta_docs_constructed/status_failed_131049_healthy_ecosystem.json": {statuses: docsFailed(131049,
		"This message was not delivered to maintain healthy ecosystem engagement.",
		"In order to maintain a healthy ecosystem engagement, the message failed to be delivered.")},
	"meta_docs_constructed/status_failed_131050_marketing_opt_out.json": {statuses: docsFailed(131050,
		"Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business.",
		"Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business.")},
	"meta_docs_constructed/status_failed_132015_template_paused_pacing.json": {statuses: docsFailed(132015,
		"Template is Paused", "Template is paused due to low quality so it cannot be sent in a template message.")},
	"meta_docs_constructed/status_read_pmp_v24.json": {statuses: []domain.StatusEvent{{
		Recipient: rcptMetaB, WAMID: docsWAMID, State: domain.StateRead, Timestamp: ts(1750263900),
		RecipientWAID: "16505551234", ProfileName: "Sheena Nelson",
	}}},
	"meta_docs_constructed/status_sent_free_entry_point_v24.json": {statuses: []domain.StatusEvent{{
		Recipient: rcptMetaB, WAMID: docsWAMID, State: domain.StateSent, Timestamp: ts(1750263773),
		RecipientWAID: "16505551234", ProfileName: "Sheena Nelson",
		Conversation: &domain.MetaConversation{ID: "5e2f6b3c0d7a4e8b9c1d2e3f4a5b6c7d", Origin: "referral_conversion", ExpiresAt: ts(1750522973)},
		Pricing:      &domain.Pricing{Model: "CBP", Category: "referral_conversion", Type: "free_entry_point", Billable: ptr(false)},
	}}},
	"meta_docs_constructed/status_sent_pmp_authentication_v23.json": {statuses: []domain.StatusEvent{{
		Recipient: rcptMetaB, WAMID: docsWAMID, State: domain.StateSent, Timestamp: ts(1750263773),
		RecipientWAID: "16505551234", ProfileName: "Sheena Nelson",
		Conversation: &domain.MetaConversation{ID: "a1b2c3d4e5f60718293a4b5c6d7e8f90", Origin: "authentication", ExpiresAt: ts(1750350173)},
		Pricing:      &domain.Pricing{Model: "PMP", Category: "authentication", Type: "regular", Billable: ptr(true)},
	}}},
	"meta_docs_constructed/status_sent_pmp_marketing_v24.json": {statuses: []domain.StatusEvent{{
		Recipient: rcptMetaB, WAMID: docsWAMID, State: domain.StateSent, Timestamp: ts(1750263773),
		RecipientWAID: "16505551234", ProfileName: "Sheena Nelson",
		Pricing:   &domain.Pricing{Model: "PMP", Category: "marketing", Type: "regular", Billable: ptr(true)},
		BizOpaque: "campaign=spring_sale_2025;batch=7",
	}}},
	"meta_docs_constructed/webhook_user_preferences_stop.json": {prefs: []domain.PreferenceEvent{{
		Recipient: rcptMetaB, WAID: "16505551234", Category: "marketing_messages", Value: "stop",
		Detail: "User requested to stop marketing messages", Timestamp: ts(1731705721),
	}}},
	"meta_docs_constructed/webhook_value_errors_130429_verbatim_meta_doc.json": {errors: []domain.ErrorEvent{{
		Recipient: rcptMetaB,
		Errors: []domain.MetaError{{Code: 130429, Title: "Rate limit hit", Message: "Rate limit hit",
			Details: "Message failed to send because there were too many messages sent from this phone number in a short period of time"}},
	}}},
}

func TestParseWebhookFixtures(t *testing.T) {
	files := webhookFixtures(t)
	seen := make(map[string]bool, len(files))
	for _, rel := range files {
		seen[rel] = true
		t.Run(rel, func(t *testing.T) {
			want, ok := fixtureWants[rel]
			if !ok {
				t.Fatalf("no expectations for %s: add it to fixtureWants", rel)
			}
			body := readFile(t, filepath.Join(fixturesDir, rel))
			batch, err := ParseWebhook(body)
			if err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
			checkEvents(t, "status", batch.Statuses, want.statuses)
			messages := make([]domain.InboundMessage, len(batch.Messages))
			for i, m := range batch.Messages {
				m.Content = nil
				messages[i] = m
			}
			checkEvents(t, "message", messages, want.messages)
			checkContents(t, body, batch.Messages)
			checkEvents(t, "preference", batch.Preferences, want.prefs)
			checkEvents(t, "error", batch.Errors, want.errors)
			checkUnknown(t, body, batch.Unknown, want)
			if len(batch.Templates)+len(batch.Accounts) != 0 {
				t.Errorf("got %d template and %d account events, want none", len(batch.Templates), len(batch.Accounts))
			}
		})
	}
	for rel := range fixtureWants {
		if !seen[rel] {
			t.Errorf("fixtureWants names %s, which is not a webhook fixture", rel)
		}
	}
}

func checkEvents[T any](t *testing.T, kind string, got, want []T) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d %s events, want %d: %+v", len(got), kind, len(want), got)
		return
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("%s[%d]:\n got %s\nwant %s", kind, i, dump(got[i]), dump(want[i]))
		}
	}
}

func dump(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// checkContents checks that each message's Content is, byte for byte once
// compacted, the object its type names in the fixture.
func checkContents(t *testing.T, body []byte, got []domain.InboundMessage) {
	t.Helper()
	var doc struct {
		Entry []struct {
			Changes []struct {
				Value struct {
					Messages []map[string]json.RawMessage `json:"messages"`
				} `json:"value"`
			} `json:"changes"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	var want []json.RawMessage
	for _, e := range doc.Entry {
		for _, c := range e.Changes {
			for _, m := range c.Value.Messages {
				var typ string
				_ = json.Unmarshal(m["type"], &typ)
				want = append(want, m[typ])
			}
		}
	}
	if len(want) != len(got) {
		return // counted by checkEvents
	}
	for i := range want {
		if compact(t, got[i].Content) != compact(t, want[i]) {
			t.Errorf("message[%d].Content = %s, want %s", i, got[i].Content, want[i])
		}
	}
}

func compact(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	if len(raw) == 0 {
		return ""
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatalf("compact %s: %v", raw, err)
	}
	return b.String()
}

func checkUnknown(t *testing.T, body []byte, got []domain.UnknownChange, want fixtureWant) {
	t.Helper()
	if len(got) != len(want.unknown) {
		t.Errorf("got %d unknown changes, want %d", len(got), len(want.unknown))
		return
	}
	var doc struct {
		Entry []struct {
			Changes []struct {
				Value json.RawMessage `json:"value"`
			} `json:"changes"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	for i, u := range got {
		if u.Recipient != want.unknown[i] || u.Field != want.fields[i] {
			t.Errorf("unknown[%d] = %+v %q, want %+v %q", i, u.Recipient, u.Field, want.unknown[i], want.fields[i])
		}
		if compact(t, u.Value) != compact(t, doc.Entry[0].Changes[i].Value) {
			t.Errorf("unknown[%d].Value = %s, want the change's value", i, u.Value)
		}
	}
}

func TestParseWebhookTemplateAndAccountFields(t *testing.T) {
	const entryTime = 1750263900
	wrap := func(field, value string) []byte {
		return []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","time":1750263900,` +
			`"changes":[{"value":` + value + `,"field":"` + field + `"}]}]}`)
	}
	templates := []struct {
		name, field, value string
		want               domain.TemplateEvent
	}{
		{
			name:  "status update with numeric template id",
			field: FieldMessageTemplateStatusUpdate,
			value: `{"event":"REJECTED","message_template_id":1234567890123456,"message_template_name":"spring_sale",` +
				`"message_template_language":"pt_BR","reason":"INCORRECT_CATEGORY"}`,
			want: domain.TemplateEvent{TemplateID: "1234567890123456", Name: "spring_sale", Language: "pt_BR",
				Status: "REJECTED", Reason: "INCORRECT_CATEGORY"},
		},
		{
			name:  "status update approved, reason null, id as string",
			field: FieldMessageTemplateStatusUpdate,
			value: `{"event":"APPROVED","message_template_id":"987","message_template_name":"otp","message_template_language":"en_US","reason":null}`,
			want:  domain.TemplateEvent{TemplateID: "987", Name: "otp", Language: "en_US", Status: "APPROVED"},
		},
		{
			name:  "quality update",
			field: FieldMessageTemplateQualityUpdate,
			value: `{"previous_quality_score":"GREEN","new_quality_score":"YELLOW","message_template_id":555,` +
				`"message_template_name":"welcome","message_template_language":"es"}`,
			want: domain.TemplateEvent{TemplateID: "555", Name: "welcome", Language: "es", Quality: "YELLOW"},
		},
		{
			name:  "category update",
			field: FieldTemplateCategoryUpdate,
			value: `{"message_template_id":777,"message_template_name":"order_update","message_template_language":"pt_BR",` +
				`"previous_category":"UTILITY","new_category":"MARKETING"}`,
			want: domain.TemplateEvent{TemplateID: "777", Name: "order_update", Language: "pt_BR", Category: "MARKETING"},
		},
		{
			name:  "announced category update",
			field: FieldTemplateCategoryUpdate,
			value: `{"message_template_id":778,"message_template_name":"promo","message_template_language":"en",` +
				`"previous_category":"UTILITY","correct_category":"MARKETING"}`,
			want: domain.TemplateEvent{TemplateID: "778", Name: "promo", Language: "en", Category: "MARKETING"},
		},
	}
	for _, tc := range templates {
		t.Run(tc.name, func(t *testing.T) {
			batch, err := ParseWebhook(wrap(tc.field, tc.value))
			if err != nil {
				t.Fatal(err)
			}
			tc.want.WABAID, tc.want.Field, tc.want.Timestamp = "102290129340398", tc.field, ts(entryTime)
			if batch.Len() != 1 || len(batch.Templates) != 1 {
				t.Fatalf("got %+v, want one template event", batch)
			}
			if !reflect.DeepEqual(batch.Templates[0], tc.want) {
				t.Errorf("\n got %+v\nwant %+v", batch.Templates[0], tc.want)
			}
		})
	}

	accounts := []struct {
		name, field, value string
		phone              string // Recipient.DisplayPhone
		event, tier        string
		detail             string
	}{
		{
			name: "verified account", field: FieldAccountUpdate,
			value: `{"phone_number":"15550783881","event":"VERIFIED_ACCOUNT"}`,
			phone: "15550783881", event: "VERIFIED_ACCOUNT",
			detail: "Account update VERIFIED_ACCOUNT for phone number 15550783881.",
		},
		{
			name: "ban", field: FieldAccountUpdate,
			value:  `{"event":"DISABLED_UPDATE","ban_info":{"waba_ban_state":["SCHEDULE_FOR_DISABLE"],"waba_ban_date":"2025-07-01"}}`,
			event:  "DISABLED_UPDATE",
			detail: "Account update DISABLED_UPDATE; ban state SCHEDULE_FOR_DISABLE from 2025-07-01.",
		},
		{
			name: "violation", field: FieldAccountUpdate,
			value: `{"event":"ACCOUNT_VIOLATION","violation_info":{"violation_type":"SCAM"}}`,
			event: "ACCOUNT_VIOLATION", detail: "Account update ACCOUNT_VIOLATION; violation SCAM.",
		},
		{
			name: "quality upgrade with tier string", field: FieldPhoneNumberQualityUpdate,
			value: `{"display_phone_number":"15550783881","event":"UPGRADE","current_limit":"TIER_10K"}`,
			phone: "15550783881", event: "UPGRADE", tier: "TIER_10K",
			detail: "Phone number 15550783881 quality update UPGRADE; messaging limit TIER_10K.",
		},
		{
			name: "quality flagged with per-business limit", field: FieldPhoneNumberQualityUpdate,
			value: `{"display_phone_number":"15550783881","event":"FLAGGED","current_limit":"TIER_1K","max_daily_conversations_per_business":"TIER_2K"}`,
			phone: "15550783881", event: "FLAGGED", tier: "TIER_2K",
			detail: "Phone number 15550783881 quality update FLAGGED; messaging limit TIER_2K.",
		},
		{
			name: "capability as tier string", field: FieldBusinessCapabilityUpdate,
			value:  `{"max_daily_conversation_per_phone":1000,"max_phone_numbers_per_business":2,"max_daily_conversations_per_business":"TIER_1K"}`,
			tier:   "TIER_1K",
			detail: "Business capability update; messaging limit is now TIER_1K.",
		},
		{
			name: "capability as number 250", field: FieldBusinessCapabilityUpdate,
			value: `{"max_daily_conversations_per_business":250}`,
			tier:  "TIER_250", detail: "Business capability update; messaging limit is now TIER_250.",
		},
		{
			name: "capability as number 2000", field: FieldBusinessCapabilityUpdate,
			value: `{"max_daily_conversations_per_business":2000}`,
			tier:  "TIER_2K", detail: "Business capability update; messaging limit is now TIER_2K.",
		},
		{
			name: "capability as number 100000", field: FieldBusinessCapabilityUpdate,
			value: `{"max_daily_conversations_per_business":100000}`,
			tier:  "TIER_100K", detail: "Business capability update; messaging limit is now TIER_100K.",
		},
		{
			name: "capability unlimited as -1", field: FieldBusinessCapabilityUpdate,
			value: `{"max_daily_conversations_per_business":-1}`,
			tier:  "TIER_UNLIMITED", detail: "Business capability update; messaging limit is now TIER_UNLIMITED.",
		},
		{
			name: "capability unlimited as word", field: FieldBusinessCapabilityUpdate,
			value: `{"max_daily_conversations_per_business":"unlimited"}`,
			tier:  "TIER_UNLIMITED", detail: "Business capability update; messaging limit is now TIER_UNLIMITED.",
		},
		{
			name: "capability per phone only", field: FieldBusinessCapabilityUpdate,
			value: `{"max_daily_conversation_per_phone":10000}`,
			tier:  "TIER_10K", detail: "Messaging limit per phone number is now TIER_10K.",
		},
		{
			name: "display name approved", field: FieldPhoneNumberNameUpdate,
			value: `{"display_phone_number":"15550783881","decision":"APPROVED","requested_verified_name":"Ticks Lojas","rejection_reason":null}`,
			phone: "15550783881", event: "APPROVED",
			detail: `Display name "Ticks Lojas" for 15550783881: APPROVED.`,
		},
		{
			name: "display name rejected", field: FieldPhoneNumberNameUpdate,
			value: `{"display_phone_number":"15550783881","decision":"REJECTED","requested_verified_name":"X","rejection_reason":"NAME_FORMATTING"}`,
			phone: "15550783881", event: "REJECTED",
			detail: `Display name "X" for 15550783881: REJECTED; reason NAME_FORMATTING.`,
		},
		{
			name: "account alert", field: FieldAccountAlerts,
			value: `{"entity_type":"WABA","entity_id":"102290129340398","alert_info":{"alert_severity":"CRITICAL",` +
				`"alert_status":"ACTIVE","alert_type":"INCREASED_CAPABILITIES_ELIGIBILITY","alert_description":"Your business is eligible."}}`,
			event:  "INCREASED_CAPABILITIES_ELIGIBILITY",
			detail: "Account alert INCREASED_CAPABILITIES_ELIGIBILITY (CRITICAL, ACTIVE): Your business is eligible.",
		},
		{
			name: "account review", field: FieldAccountReviewUpdate,
			value: `{"decision":"APPROVED"}`, event: "APPROVED",
			detail: "Account review decision: APPROVED.",
		},
	}
	for _, tc := range accounts {
		t.Run(tc.name, func(t *testing.T) {
			batch, err := ParseWebhook(wrap(tc.field, tc.value))
			if err != nil {
				t.Fatal(err)
			}
			if batch.Len() != 1 || len(batch.Accounts) != 1 {
				t.Fatalf("got %+v, want one account event", batch)
			}
			got := batch.Accounts[0]
			want := domain.AccountEvent{
				Recipient: domain.Recipient{WABAID: "102290129340398", DisplayPhone: tc.phone},
				Field:     tc.field, Event: tc.event, Tier: tc.tier, Detail: tc.detail,
				Timestamp: ts(entryTime), Raw: json.RawMessage(tc.value),
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("\n got %s\nwant %s", dump(got), dump(want))
			}
		})
	}
}

func TestParseWebhookEdgeCases(t *testing.T) {
	const head = `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":` +
		`{"metadata":{"display_phone_number":"5511","phone_number_id":"77"},`
	const tail = `}}]}]}`
	t.Run("numeric timestamp, bsuid recipient and its profile", func(t *testing.T) {
		batch, err := ParseWebhook([]byte(head + `"contacts":[{"profile":{"name":"Ana"},"user_id":"BR.abc"}],` +
			`"statuses":[{"id":"wamid.1","status":"played","timestamp":1750263900,"recipient_user_id":"BR.abc"}]` + tail))
		if err != nil {
			t.Fatal(err)
		}
		want := domain.StatusEvent{
			Recipient: domain.Recipient{WABAID: "1", PhoneNumberID: "77", DisplayPhone: "5511"},
			WAMID:     "wamid.1", State: domain.StatePlayed, Timestamp: ts(1750263900),
			RecipientUserID: "BR.abc", ProfileName: "Ana",
		}
		if len(batch.Statuses) != 1 || !reflect.DeepEqual(batch.Statuses[0], want) {
			t.Errorf("got %+v, want %+v", batch.Statuses, want)
		}
	})
	t.Run("status profile needs an exact match", func(t *testing.T) {
		batch, err := ParseWebhook([]byte(head + `"contacts":[{"profile":{"name":"Ana"},"wa_id":"551199998888"}],` +
			`"statuses":[{"id":"wamid.1","status":"sent","timestamp":"1","recipient_id":"55119998888"}]` + tail))
		if err != nil {
			t.Fatal(err)
		}
		if got := batch.Statuses[0].ProfileName; got != "" {
			t.Errorf("ProfileName = %q, want empty", got)
		}
	})
	t.Run("from_user_id wins over contacts", func(t *testing.T) {
		batch, err := ParseWebhook([]byte(head + `"contacts":[{"profile":{"name":"Ana"},"user_id":"BR.contact"}],` +
			`"messages":[{"id":"wamid.2","from_user_id":"BR.msg","timestamp":"2","type":"text","text":{"body":"oi"}}]` + tail))
		if err != nil {
			t.Fatal(err)
		}
		m := batch.Messages[0]
		if m.FromUserID != "BR.msg" || m.FromWAID != "" || m.ProfileName != "Ana" || m.Text != "oi" {
			t.Errorf("got %+v", m)
		}
	})
	t.Run("profile by wa_id among several contacts", func(t *testing.T) {
		batch, err := ParseWebhook([]byte(head + `"contacts":[{"profile":{"name":"Ana"},"wa_id":"1"},{"profile":{"name":"Bia"},"wa_id":"2","user_id":"BR.2"}],` +
			`"messages":[{"id":"a","from":"2","timestamp":"2","type":"text","text":{"body":"x"}},` +
			`{"id":"b","from":"3","timestamp":"2","type":"text","text":{"body":"y"}}]` + tail))
		if err != nil {
			t.Fatal(err)
		}
		if m := batch.Messages[0]; m.ProfileName != "Bia" || m.FromUserID != "BR.2" {
			t.Errorf("message a: got %+v", m)
		}
		if m := batch.Messages[1]; m.ProfileName != "" || m.FromUserID != "" {
			t.Errorf("message b: an unmatched sender among several contacts got %+v", m)
		}
	})
	t.Run("media, nfm by name, location by coordinates, contact without formatted name", func(t *testing.T) {
		batch, err := ParseWebhook([]byte(head + `"messages":[` +
			`{"id":"v","from":"1","timestamp":"2","type":"video","video":{"id":"9","caption":"olha"}},` +
			`{"id":"a","from":"1","timestamp":"2","type":"audio","audio":{"id":"8","voice":true}},` +
			`{"id":"n","from":"1","timestamp":"2","type":"interactive","interactive":{"type":"nfm_reply","nfm_reply":{"name":"flow","response_json":"{}"}}},` +
			`{"id":"l","from":"1","timestamp":"2","type":"location","location":{"latitude":-23.5,"longitude":-46.6}},` +
			`{"id":"c","from":"1","timestamp":"2","type":"contacts","contacts":[{"name":{"first_name":"João","last_name":"Silva"}}]},` +
			`{"id":"r","from":"1","timestamp":"2","type":"request_welcome"},` +
			`{"id":"e","from":"1","timestamp":"2","type":"edit","edit":{"original_message_id":"wamid.0","message":{"type":"text"}}},` +
			`{"id":"t","from":"1","timestamp":"2","type":"text","text":"not an object"}` +
			`]` + tail))
		if err != nil {
			t.Fatal(err)
		}
		want := []struct{ text, content string }{
			{"olha", `{"id":"9","caption":"olha"}`},
			{"", `{"id":"8","voice":true}`},
			{"flow", `{"type":"nfm_reply","nfm_reply":{"name":"flow","response_json":"{}"}}`},
			{"-23.5,-46.6", `{"latitude":-23.5,"longitude":-46.6}`},
			{"João Silva", `[{"name":{"first_name":"João","last_name":"Silva"}}]`},
			{"", ``},
			{"", `{"original_message_id":"wamid.0","message":{"type":"text"}}`},
			{"", `"not an object"`},
		}
		if len(batch.Messages) != len(want) {
			t.Fatalf("got %d messages, want %d", len(batch.Messages), len(want))
		}
		for i, w := range want {
			m := batch.Messages[i]
			if m.Text != w.text || string(m.Content) != w.content {
				t.Errorf("message %s: Text %q Content %s, want %q %s", m.WAMID, m.Text, m.Content, w.text, w.content)
			}
		}
	})
	t.Run("value errors keep their timestamp", func(t *testing.T) {
		batch, err := ParseWebhook([]byte(head + `"timestamp":"1750263900","errors":[{"code":131000,"title":"Something went wrong"}]` + tail))
		if err != nil {
			t.Fatal(err)
		}
		if len(batch.Errors) != 1 || !batch.Errors[0].Timestamp.Equal(ts(1750263900)) || batch.Errors[0].Errors[0].Code != 131000 {
			t.Errorf("got %+v", batch.Errors)
		}
	})
	t.Run("messages change without anything ticks reads is kept", func(t *testing.T) {
		batch, err := ParseWebhook([]byte(head + `"groups":[{"group_id":"g","type":"group_create"}]` + tail))
		if err != nil {
			t.Fatal(err)
		}
		if len(batch.Unknown) != 1 || batch.Unknown[0].Field != "messages" || batch.Unknown[0].PhoneNumberID != "77" {
			t.Errorf("got %+v", batch)
		}
	})
	t.Run("unknown field with a non-object value", func(t *testing.T) {
		batch, err := ParseWebhook([]byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"calls","value":[1,2]}]}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if len(batch.Unknown) != 1 || string(batch.Unknown[0].Value) != "[1,2]" {
			t.Errorf("got %+v", batch.Unknown)
		}
	})
	t.Run("an unknown change that does not fit leaves the statuses beside it alone", func(t *testing.T) {
		batch, err := ParseWebhook([]byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[` +
			`{"field":"calls","value":{"metadata":{"phone_number_id":"77"},"statuses":"ringing","timestamp":"2025-06-18T16:25:00Z"}},` +
			`{"field":"messages","value":{"metadata":{"phone_number_id":"77"},"statuses":[{"id":"wamid.1","status":"read","timestamp":"5"}]}}]}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if len(batch.Unknown) != 1 || batch.Unknown[0].Field != "calls" || batch.Unknown[0].PhoneNumberID != "77" ||
			len(batch.Statuses) != 1 || batch.Statuses[0].State != domain.StateRead {
			t.Errorf("got %+v", batch)
		}
	})
	t.Run("an account field may use keys a messages value would refuse", func(t *testing.T) {
		batch, err := ParseWebhook([]byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","time":1750263900,"changes":[` +
			`{"field":"account_update","value":{"event":"PARTNER_ADDED","timestamp":"2025-06-18T16:25:00Z","errors":"none"}}]}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if len(batch.Accounts) != 1 || batch.Accounts[0].Event != "PARTNER_ADDED" || !batch.Accounts[0].Timestamp.Equal(ts(1750263900)) {
			t.Errorf("got %+v", batch.Accounts)
		}
	})
	t.Run("events do not share memory with the body", func(t *testing.T) {
		body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[` +
			`{"field":"x","value":{"a":"b"}},` +
			`{"field":"messages","value":{"messages":[{"id":"m","type":"text","text":{"body":"hi"}}]}}]}]}`)
		batch, err := ParseWebhook(body)
		if err != nil {
			t.Fatal(err)
		}
		for i := range body {
			body[i] = ' '
		}
		if string(batch.Unknown[0].Value) != `{"a":"b"}` || string(batch.Messages[0].Content) != `{"body":"hi"}` {
			t.Errorf("events changed with the body: %s %s", batch.Unknown[0].Value, batch.Messages[0].Content)
		}
	})
	t.Run("empty entry array", func(t *testing.T) {
		batch, err := ParseWebhook([]byte(`{"object":"whatsapp_business_account","entry":[]}`))
		if err != nil || batch.Len() != 0 {
			t.Errorf("got %+v, %v; want an empty batch", batch, err)
		}
	})
	t.Run("several entries and changes keep their own recipients", func(t *testing.T) {
		batch, err := ParseWebhook([]byte(`{"object":"whatsapp_business_account","entry":[` +
			`{"id":"A","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"1"},"statuses":[{"id":"s1","status":"sent"}]}},` +
			`{"field":"messages","value":{"metadata":{"phone_number_id":"2"},"statuses":[{"id":"s2","status":"delivered"}]}}]},` +
			`{"id":"B","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"3"},"statuses":[{"id":"s3","status":"read"}]}}]}]}`))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range batch.Statuses {
			got = append(got, s.WABAID+"/"+s.PhoneNumberID+"/"+s.WAMID+"/"+string(s.State))
		}
		want := []string{"A/1/s1/sent", "A/2/s2/delivered", "B/3/s3/read"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
}

func TestParseWebhookMalformed(t *testing.T) {
	const head = `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{`
	const tail = `}}]}]}`
	tests := []struct {
		name, body string
		msg        string // a part of the message that names the problem
	}{
		{"empty body", ``, "not valid JSON"},
		{"truncated JSON", `{"object":"whatsapp_business_account","entry":[`, "not valid JSON"},
		{"garbage", `object=whatsapp`, "not valid JSON"},
		{"top-level array", `[{"object":"whatsapp_business_account"}]`, "not a JSON object"},
		{"top-level null", `null`, "not a JSON object"},
		{"top-level string", `"whatsapp_business_account"`, "not a JSON object"},
		{"no object", `{"entry":[]}`, `no "object"`},
		{"wrong object", `{"object":"page","entry":[]}`, `object is "page"`},
		{"object not a string", `{"object":1,"entry":[]}`, "object is a JSON number; want a string"},
		{"no entry", `{"object":"whatsapp_business_account"}`, `no "entry" array`},
		{"entry null", `{"object":"whatsapp_business_account","entry":null}`, `no "entry" array`},
		{"entry an object", `{"object":"whatsapp_business_account","entry":{}}`, "entry is a JSON object; want an array"},
		{"entry without changes", `{"object":"whatsapp_business_account","entry":[{"id":"1"}]}`, `entry[0] has no "changes"`},
		{"change without field", `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"value":{}}]}]}`,
			`entry[0].changes[0] has no "field"`},
		{"change without value", `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages"}]}]}`,
			`entry[0].changes[0] (messages) has no "value"`},
		{"change with null value", `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"x","value":null}]}]}`,
			`has no "value"`},
		{"messages value not an object", `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":"x"}]}]}`,
			"entry[0].changes[0].value is a JSON string; want an object"},
		{"status without id", head + `"statuses":[{"status":"sent","timestamp":"1"}]` + tail, `statuses[0] has no "id"`},
		{"status without status", head + `"statuses":[{"id":"wamid.1","timestamp":"1"}]` + tail, `statuses[0] (wamid.1) has no "status"`},
		{"unknown status", head + `"statuses":[{"id":"wamid.1","status":"deleted","timestamp":"1"}]` + tail, `unknown status "deleted"`},
		{"status in capitals", head + `"statuses":[{"id":"wamid.1","status":"DELIVERED","timestamp":"1"}]` + tail, `unknown status "DELIVERED"`},
		{"status id a number", head + `"statuses":[{"id":5,"status":"sent"}]` + tail, "value.statuses.id is a JSON number; want a string"},
		{"statuses not an array", head + `"statuses":{"id":"x"}` + tail, "value.statuses is a JSON object; want an array"},
		{"timestamp in milliseconds", head + `"statuses":[{"id":"wamid.1","status":"sent","timestamp":"1750263900000"}]` + tail,
			`statuses[0] (wamid.1): timestamp "1750263900000" is not unix seconds`},
		{"timestamp as date", head + `"statuses":[{"id":"wamid.1","status":"sent","timestamp":"2025-06-18T16:25:00Z"}]` + tail,
			"is not unix seconds"},
		{"timestamp negative", head + `"statuses":[{"id":"wamid.1","status":"sent","timestamp":-5}]` + tail, "timestamp -5 is not unix seconds"},
		{"timestamp fractional", head + `"statuses":[{"id":"wamid.1","status":"sent","timestamp":1750263900.5}]` + tail,
			"timestamp 1750263900.5 is not unix seconds"},
		{"timestamp empty string", head + `"statuses":[{"id":"wamid.1","status":"sent","timestamp":""}]` + tail, `timestamp "" is not unix seconds`},
		{"timestamp boolean", head + `"statuses":[{"id":"wamid.1","status":"sent","timestamp":true}]` + tail, "timestamp true is not unix seconds"},
		{"expiration not unix seconds", head + `"statuses":[{"id":"wamid.1","status":"sent","timestamp":"1","conversation":{"id":"c","expiration_timestamp":"soon"}}]` + tail,
			`statuses[0] (wamid.1): conversation expiration_timestamp "soon" is not unix seconds`},
		{"message without id", head + `"messages":[{"from":"1","timestamp":"1","type":"text","text":{"body":"x"}}]` + tail,
			`messages[0] has no "id"`},
		{"message without type", head + `"messages":[{"id":"wamid.9","from":"1","timestamp":"1","text":{"body":"x"}}]` + tail,
			`messages[0] (wamid.9) has no "type"`},
		{"message timestamp bad", head + `"messages":[{"id":"wamid.9","timestamp":"yesterday","type":"text"}]` + tail,
			`messages[0] (wamid.9): timestamp "yesterday" is not unix seconds`},
		{"message not an object", head + `"messages":[42]` + tail, "value.messages is a JSON number; want an object"},
		{"entry time bad", `{"object":"whatsapp_business_account","entry":[{"id":"1","time":"now","changes":[]}]}`,
			`entry[0]: time "now" is not unix seconds`},
		{"preference timestamp bad", `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"user_preferences",` +
			`"value":{"user_preferences":[{"wa_id":"1","value":"stop","timestamp":"x"}]}}]}]}`, `user_preferences[0]: timestamp "x" is not unix seconds`},
		{"template id an object", `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"message_template_status_update",` +
			`"value":{"event":"APPROVED","message_template_id":{}}}]}]}`, "an id is {}; want a string or a number"},
		{"tier fractional", `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"business_capability_update",` +
			`"value":{"max_daily_conversations_per_business":2.5}}]}]}`, "messaging limit 2.5 is not a tier"},
		{"error code a string", head + `"errors":[{"code":"130429"}]` + tail, "value.errors.code is a JSON string; want an integer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			batch, err := ParseWebhook([]byte(tc.body))
			if err == nil {
				t.Fatalf("got %+v, want an error", batch)
			}
			var de *domain.Error
			if !errors.As(err, &de) || de.Code != domain.EINVALID {
				t.Fatalf("got %T %v, want a *domain.Error with code %s", err, err, domain.EINVALID)
			}
			if !strings.Contains(de.Message, tc.msg) {
				t.Errorf("message %q does not contain %q", de.Message, tc.msg)
			}
		})
	}
}

func TestNormalizeTier(t *testing.T) {
	for in, want := range map[string]string{
		"TIER_250": "TIER_250", "TIER_1K": "TIER_1K", "TIER_UNLIMITED": "TIER_UNLIMITED", "tier_50": "tier_50",
		"1000": "TIER_1K", "10000": "TIER_10K", "-1": "TIER_UNLIMITED", "UNLIMITED": "TIER_UNLIMITED", "50": "TIER_50",
	} {
		if got := normalizeTier(in); got != want {
			t.Errorf("normalizeTier(%q) = %q, want %q", in, got, want)
		}
	}
}

// statusPayload is a typical status webhook: one failed status with
// conversation and pricing, compacted as Meta sends it (963 bytes).
var statusPayload = compactBytes(`{
  "object": "whatsapp_business_account",
  "entry": [
    {
      "id": "102290129340398",
      "changes": [
        {
          "value": {
            "messaging_product": "whatsapp",
            "metadata": {
              "display_phone_number": "15550783881",
              "phone_number_id": "106540352242922"
            },
            "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
            "statuses": [
              {
                "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJDQjZCMzlEQUE4OTJBMTE4RTUA",
                "status": "failed",
                "timestamp": "1750263790",
                "recipient_id": "16505551234",
                "biz_opaque_callback_data": "campaign=spring_sale_2025;batch=7",
                "conversation": {
                  "id": "5e2f6b3c0d7a4e8b9c1d2e3f4a5b6c7d",
                  "expiration_timestamp": "1750522973",
                  "origin": {"type": "marketing"}
                },
                "pricing": {
                  "billable": true,
                  "pricing_model": "PMP",
                  "type": "regular",
                  "category": "marketing"
                },
                "errors": [
                  {
                    "code": 131026,
                    "title": "Message undeliverable",
                    "message": "Message undeliverable",
                    "error_data": {"details": "Message Undeliverable."},
                    "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"
                  }
                ]
              }
            ]
          },
          "field": "messages"
        }
      ]
    }
  ]
}`)

func compactBytes(s string) []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func BenchmarkParseStatus(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(statusPayload)))
	for b.Loop() {
		batch, err := ParseWebhook(statusPayload)
		if err != nil || len(batch.Statuses) != 1 {
			b.Fatal(err)
		}
	}
}
