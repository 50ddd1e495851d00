package cloudapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/ticksapp/ticks/internal/domain"
)

// templateFields are the fields Templates asks for: quality_score is not
// among Graph's defaults.
const templateFields = "id,name,language,category,status,quality_score,components"

// maxTemplatePages stops a paging loop that never ends (100 templates a
// page: far beyond any real WABA).
const maxTemplatePages = 1000

// templatePage is one page of GET /{waba_id}/message_templates.
type templatePage struct {
	Data []struct {
		ID           string `json:"id"`
		Name         string `json:"name"`
		Language     string `json:"language"`
		Category     string `json:"category"`
		Status       string `json:"status"`
		QualityScore struct {
			Score string `json:"score"`
		} `json:"quality_score"`
		Components json.RawMessage `json:"components"`
	} `json:"data"`
	Paging struct {
		Cursors struct {
			After string `json:"after"`
		} `json:"cursors"`
		Next string `json:"next"`
	} `json:"paging"`
}

// Templates lists every template of a WABA: GET
// {BaseURL}/{waba_id}/message_templates?limit=100, following paging.next
// until Meta sends none. Category comes lower-cased; Status as Meta writes
// it.
func (c *Client) Templates(ctx context.Context, wabaID, accessToken string) ([]domain.Template, error) {
	if wabaID == "" {
		return nil, domain.Errorf(domain.EINVALID, "no WABA id to list templates of")
	}
	first := c.base() + "/" + url.PathEscape(wabaID) + "/message_templates"
	query := url.Values{"limit": {"100"}, "fields": {templateFields}}
	next := first + "?" + query.Encode()
	op := "list templates of WABA " + wabaID
	var out []domain.Template
	seen := make(map[string]bool)
	for page := 1; next != ""; page++ {
		if page > maxTemplatePages || seen[next] {
			return nil, fmt.Errorf("cloud api: %s: paging does not end (page %d)", op, page)
		}
		seen[next] = true
		var p templatePage
		rq := request{op: op, method: http.MethodGet, url: next, token: accessToken}
		if err := c.do(ctx, rq, &p); err != nil {
			return nil, err
		}
		for _, d := range p.Data {
			components := d.Components
			if len(components) == 0 {
				components = json.RawMessage("[]")
			}
			out = append(out, domain.Template{
				WABAID:     wabaID,
				MetaID:     d.ID,
				Name:       d.Name,
				Language:   d.Language,
				Category:   strings.ToLower(d.Category),
				Status:     d.Status,
				Quality:    d.QualityScore.Score,
				Components: components,
			})
		}
		next = c.nextPage(p.Paging.Next, p.Paging.Cursors.After, first, query)
	}
	return out, nil
}

// nextPage returns the URL of the page after this one, "" on the last page
// (Graph omits paging.next there). Meta's next URL is used as given when it
// points at BaseURL's host, with any access_token in it removed: the token
// travels in the Authorization header only, never in a URL that could end
// up in an error or a log. A next URL on another host is not followed (the
// bearer token would go with it); the after cursor is asked of BaseURL
// instead.
func (c *Client) nextPage(next, after, first string, query url.Values) string {
	if next == "" {
		return ""
	}
	u, err := url.Parse(next)
	base, berr := url.Parse(c.base())
	if err == nil && berr == nil && u.Scheme == base.Scheme && u.Host == base.Host {
		q := u.Query()
		if q.Has("access_token") {
			q.Del("access_token")
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	if after == "" {
		return ""
	}
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("after", after)
	return first + "?" + q.Encode()
}

// createTemplateRequest is the body of POST /{waba_id}/message_templates.
type createTemplateRequest struct {
	Name       string          `json:"name"`
	Language   string          `json:"language"`
	Category   string          `json:"category"`
	Components json.RawMessage `json:"components"`
}

// CreateTemplate submits a template for Meta's review: POST
// {BaseURL}/{waba_id}/message_templates. It returns Meta's template id and
// the review status (usually PENDING; APPROVED for some authentication
// templates). Meta may re-categorize the template; the category it answers
// with is not returned.
func (c *Client) CreateTemplate(ctx context.Context, wabaID, accessToken string, t domain.Template) (metaID, status string, err error) {
	switch {
	case wabaID == "":
		return "", "", domain.Errorf(domain.EINVALID, "no WABA id to create the template in")
	case t.Name == "" || t.Language == "" || t.Category == "":
		return "", "", domain.Errorf(domain.EINVALID, "template needs a name, a language and a category")
	case len(t.Components) == 0 || !json.Valid(t.Components):
		return "", "", domain.Errorf(domain.EINVALID, "components of template %s are not valid JSON", t.Name)
	}
	body, err := marshalJSON(createTemplateRequest{
		Name:       t.Name,
		Language:   t.Language,
		Category:   strings.ToUpper(t.Category),
		Components: t.Components,
	})
	if err != nil {
		return "", "", fmt.Errorf("cloud api: encode template %s: %w", t.Name, err)
	}
	var resp struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	rq := request{
		op:     fmt.Sprintf("create template %s (%s) in WABA %s", t.Name, t.Language, wabaID),
		method: http.MethodPost,
		url:    c.base() + "/" + url.PathEscape(wabaID) + "/message_templates",
		body:   body,
		token:  accessToken,
	}
	if err := c.do(ctx, rq, &resp); err != nil {
		return "", "", err
	}
	if resp.ID == "" {
		return "", "", fmt.Errorf("cloud api: %s: accepted without a template id", rq.op)
	}
	return resp.ID, resp.Status, nil
}
