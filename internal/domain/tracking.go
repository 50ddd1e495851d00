package domain

import "time"

// Bot kinds: a router answers a channel and hands contacts to the bots
// under it.
const (
	BotRouter = "router"
	BotFlow   = "bot"
)

// Bot is a named API client of a subaccount: a router or a bot under one.
// Its id is its API token's id, the id messages sent with that token carry.
type Bot struct {
	ID           int64     `json:"id"`
	SubaccountID int64     `json:"subaccount_id"`
	Name         string    `json:"name"`
	Kind         string    `json:"kind"`
	RouterID     *int64    `json:"router_id,omitempty"`
	ChannelID    *int64    `json:"channel_id,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
}

// TrackEvent is one event a bot recorded at a point of its flow, ready to
// store: validated, its contact resolved.
type TrackEvent struct {
	ID             int64
	SubaccountID   int64
	BotID          int64 // 0 for none
	Category       string
	Action         string
	ContactID      int64
	MessageID      int64 // 0 for none
	Extras         string
	At             time.Time
	IdempotencyKey string
	Day            int64 // the day of At in the subaccount's time zone, days since 1970-01-01
}

// Report granularities.
const (
	GranularityHour  = "hour"
	GranularityDay   = "day"
	GranularityWeek  = "week"
	GranularityMonth = "month"
)

// EventCount is one row of the custom report: the events of an action in a
// period and the distinct contacts who did it.
type EventCount struct {
	Period   string `json:"period"`
	Category string `json:"category"`
	Action   string `json:"action"`
	Count    int64  `json:"count"`
	Contacts int64  `json:"contacts"`
}

// CustomReport is a saved custom report: an event report's or a funnel's
// definition, kept as the JSON the API takes.
type CustomReport struct {
	ID           int64     `json:"id"`
	SubaccountID int64     `json:"subaccount_id"`
	UserID       int64     `json:"user_id,omitempty"`
	Name         string    `json:"name"`
	Kind         string    `json:"kind"`
	Definition   string    `json:"-"`
	Shared       bool      `json:"shared"`
	CreatedAt    time.Time `json:"created_at"`
	TokenID      int64     `json:"-"`
}
