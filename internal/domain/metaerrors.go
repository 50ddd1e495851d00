package domain

// MetaError is an error object as Meta sends it: in a failed status, in a
// webhook's errors array, or in a synchronous send response.
type MetaError struct {
	Code    int    `json:"code"`
	Title   string `json:"title"`
	Message string `json:"message,omitempty"`
	Details string `json:"details,omitempty"`
}

// metaErrorStatus maps every Cloud API error code ticks knows (the 48 of
// testdata/whatsapp/error_codes.json) to the report status a failed message
// with that code gets. Codes not listed fall back by range in
// StatusFromMetaError.
var metaErrorStatus = map[int]Status{
	0:      StatusInternalError, // AuthException: our credentials, not the recipient
	3:      StatusInternalError, // capability/permission
	4:      StatusInternalError, // app rate limit, after retries
	10:     StatusInternalError, // permission denied
	100:    StatusInvalidParameter,
	190:    StatusInternalError, // access token expired
	368:    StatusRejected,      // WABA blocked for policy violation
	80007:  StatusInternalError, // WABA rate limit, after retries
	130429: StatusInternalError, // throughput, after retries
	130472: StatusRejected,      // number in a Meta experiment
	130497: StatusRejected,      // country restricted
	131000: StatusInternalError,
	131005: StatusInternalError, // access denied
	131008: StatusInvalidParameter,
	131009: StatusInvalidParameter,
	131016: StatusInternalError,
	131021: StatusInvalidParameter, // recipient cannot be sender
	131026: StatusUndelivered,
	131030: StatusInvalidNumber, // not in the test allowed list
	131031: StatusRejected,      // account locked
	131037: StatusRejected,      // display name not approved
	131042: StatusRejected,      // payment issue
	131045: StatusRejected,      // certificate
	131047: StatusInvalidSession,
	131048: StatusRejected, // spam rate limit
	131049: StatusRejected, // healthy ecosystem
	131050: StatusOptedOut,
	131051: StatusInvalidContent,
	131052: StatusInvalidContent,
	131053: StatusInvalidContent,
	131056: StatusInternalError, // pair rate limit, after retries
	131057: StatusInternalError, // maintenance
	131062: StatusInvalidParameter,
	131063: StatusRejected, // marketing templates disabled
	131064: StatusTierLimit,
	132000: StatusInvalidContent,
	132001: StatusInvalidContent,
	132005: StatusInvalidContent,
	132007: StatusInvalidContent,
	132008: StatusInvalidContent,
	132012: StatusInvalidContent,
	132015: StatusInvalidContent,
	132016: StatusInvalidContent,
	132068: StatusInvalidContent, // flow blocked
	132069: StatusInternalError,  // flow throttled, after retries
	133010: StatusInternalError,  // our sending number is not registered
	133016: StatusInternalError,
	135000: StatusInvalidParameter,
}

// StatusFromMetaError returns the report status of a message that failed
// with Meta error code. Unknown codes are classified by Meta's ranges:
// 132xxx are template errors, everything else is undelivered.
func StatusFromMetaError(code int) Status {
	if s, ok := metaErrorStatus[code]; ok {
		return s
	}
	switch {
	case code >= 132000 && code < 133000:
		return StatusInvalidContent
	case code >= 131000 && code < 132000:
		return StatusUndelivered
	}
	return StatusUndelivered
}

// KnownMetaErrorCode reports whether code has an explicit entry in the
// mapping table.
func KnownMetaErrorCode(code int) bool {
	_, ok := metaErrorStatus[code]
	return ok
}
