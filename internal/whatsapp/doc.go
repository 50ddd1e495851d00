// Package whatsapp reads what Meta's WhatsApp Cloud API sends: webhook
// payloads and their signatures.
package whatsapp
