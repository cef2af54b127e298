package agentui

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/switchboard-cc/switchboard/cti"
)

// CRMAPI serves the CRM under /api/v1: customers (CRUD, search, numbers, addresses, timeline), caller lookup, interactions,
// call scripts, dispositions and reason codes.
//
// Authorize is asked before every request with the action it performs (ActionCustomerRead…); a non-nil error (EUNAUTHORIZED or
// EFORBIDDEN) is the answer. Until sessions arrive it may be nil, which allows everything. Identify names the caller in the audit
// log ("anonymous" when nil).
type CRMAPI struct {
	Customers    cti.CustomerLookup
	Admin        cti.CustomerAdmin
	Interactions cti.InteractionLog
	Config       cti.Config
	Auditor      cti.Auditor // optional
	Logger       *slog.Logger

	Authorize func(r *http.Request, action string) error
	Identify  func(r *http.Request) string
	// AgentID names the signed-in agent a disposition is recorded for; when set, it overrides the body's agent_id.
	AgentID func(r *http.Request) string
}

// Actions the API asks Authorize about.
const (
	ActionCustomerRead     = "customer.read"
	ActionCustomerWrite    = "customer.write"
	ActionInteractionRead  = "interaction.read"
	ActionInteractionWrite = "interaction.write"
	ActionConfigRead       = "config.read"
)

// Register adds the API's routes to mux.
func (a *CRMAPI) Register(mux router) {
	h := func(pattern, action string, f func(w http.ResponseWriter, r *http.Request) error) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			err := a.authorize(r, action)
			if err == nil {
				err = f(w, r)
			}
			if err != nil {
				Error(w, r, a.Logger, err)
			}
		})
	}
	h("GET /api/v1/customers", ActionCustomerRead, a.searchCustomers)
	h("POST /api/v1/customers", ActionCustomerWrite, a.createCustomer)
	h("GET /api/v1/customers/{id}", ActionCustomerRead, a.getCustomer)
	h("PUT /api/v1/customers/{id}", ActionCustomerWrite, a.updateCustomer)
	h("DELETE /api/v1/customers/{id}", ActionCustomerWrite, a.deleteCustomer)
	h("POST /api/v1/customers/{id}/phones", ActionCustomerWrite, a.addPhone)
	h("DELETE /api/v1/customers/{id}/phones/{number}", ActionCustomerWrite, a.removePhone)
	h("POST /api/v1/customers/{id}/emails", ActionCustomerWrite, a.addEmail)
	h("DELETE /api/v1/customers/{id}/emails/{address}", ActionCustomerWrite, a.removeEmail)
	h("GET /api/v1/customers/{id}/timeline", ActionInteractionRead, a.timeline)
	h("GET /api/v1/lookup", ActionCustomerRead, a.lookup)
	h("GET /api/v1/interactions/{id}", ActionInteractionRead, a.getInteraction)
	h("PUT /api/v1/interactions/{id}/disposition", ActionInteractionWrite, a.setDisposition)
	h("GET /api/v1/scripts/{queue}", ActionConfigRead, a.script)
	h("GET /api/v1/dispositions", ActionConfigRead, a.dispositions)
	h("GET /api/v1/reason-codes", ActionConfigRead, a.reasonCodes)
}

func (a *CRMAPI) authorize(r *http.Request, action string) error {
	if a.Authorize == nil {
		return nil
	}
	return a.Authorize(r, action)
}

// audit records a write; a failure to audit is logged, not shown to the user whose write succeeded.
func (a *CRMAPI) audit(r *http.Request, action, target string) {
	if a.Auditor == nil {
		return
	}
	actor := "anonymous"
	if a.Identify != nil {
		actor = a.Identify(r)
	}
	err := a.Auditor.Audit(context.WithoutCancel(r.Context()), cti.AuditEntry{Actor: actor, Action: action, Target: target,
		Remote: r.RemoteAddr})
	if err != nil && a.Logger != nil {
		a.Logger.ErrorContext(r.Context(), "audit failed", "action", action, "target", target, "err", err)
	}
}

// queryInt reads an optional integer query parameter.
func queryInt(r *http.Request, name string) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, cti.Invalid(name, "must be a non-negative integer")
	}
	return n, nil
}

// version reads the version a write is based on: the If-Match header (the ETag of a GET) or the version query parameter.
func version(r *http.Request) (int64, error) {
	v := strings.Trim(strings.TrimPrefix(r.Header.Get("If-Match"), "W/"), `"`)
	if v == "" {
		v = r.URL.Query().Get("version")
	}
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, cti.Invalid("version", "must be a positive integer")
	}
	return n, nil
}

func writeCustomer(w http.ResponseWriter, status int, c *cti.Customer) {
	w.Header().Set("ETag", strconv.Quote(strconv.FormatInt(c.Version, 10)))
	writeJSON(w, status, c)
}

// customerInput is what clients send to create or update a customer. On update, absent phones or emails keep the stored ones;
// present ones (even empty) replace them.
type customerInput struct {
	Name         string            `json:"name"`
	Company      string            `json:"company"`
	Language     string            `json:"language"`
	Tier         cti.Tier          `json:"tier"`
	Tags         []string          `json:"tags"`
	Notes        string            `json:"notes"`
	Fields       map[string]string `json:"fields"`
	OwnerAgentID string            `json:"owner_agent_id"`
	Phones       *[]cti.Phone      `json:"phones"`
	Emails       *[]cti.Email      `json:"emails"`
	Version      int64             `json:"version"`
}

func (in *customerInput) customer(id string) *cti.Customer {
	c := &cti.Customer{ID: id, Name: in.Name, Company: in.Company, Language: in.Language, Tier: in.Tier, Tags: in.Tags,
		Notes: in.Notes, Fields: in.Fields, OwnerAgentID: in.OwnerAgentID, Version: in.Version}
	if in.Phones != nil {
		c.Phones = *in.Phones
		if c.Phones == nil {
			c.Phones = []cti.Phone{}
		}
	}
	if in.Emails != nil {
		c.Emails = *in.Emails
		if c.Emails == nil {
			c.Emails = []cti.Email{}
		}
	}
	return c
}

func (a *CRMAPI) searchCustomers(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	res, err := a.Admin.SearchCustomers(r.Context(), r.URL.Query().Get("q"), limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": res})
	return nil
}

func (a *CRMAPI) createCustomer(w http.ResponseWriter, r *http.Request) error {
	var in customerInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Version != 0 {
		return cti.Invalid("version", "a new customer has no version")
	}
	c := in.customer("")
	if err := a.Admin.CreateCustomer(r.Context(), c); err != nil {
		return err
	}
	a.audit(r, "customer.create", c.ID)
	w.Header().Set("Location", "/api/v1/customers/"+c.ID)
	writeCustomer(w, http.StatusCreated, c)
	return nil
}

func (a *CRMAPI) getCustomer(w http.ResponseWriter, r *http.Request) error {
	c, err := a.Customers.Customer(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeCustomer(w, http.StatusOK, c)
	return nil
}

func (a *CRMAPI) updateCustomer(w http.ResponseWriter, r *http.Request) error {
	var in customerInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	v, err := version(r)
	if err != nil {
		return err
	}
	if v != 0 {
		if in.Version != 0 && in.Version != v {
			return cti.Invalid("version", "If-Match and the body disagree")
		}
		in.Version = v
	}
	c := in.customer(r.PathValue("id"))
	if err := a.Admin.UpdateCustomer(r.Context(), c); err != nil {
		return err
	}
	a.audit(r, "customer.update", c.ID)
	writeCustomer(w, http.StatusOK, c)
	return nil
}

func (a *CRMAPI) deleteCustomer(w http.ResponseWriter, r *http.Request) error {
	v, err := version(r)
	if err != nil {
		return err
	}
	if v == 0 {
		return cti.Invalid("version", "send the version you read (If-Match or ?version=)")
	}
	id := r.PathValue("id")
	if err := a.Admin.DeleteCustomer(r.Context(), id, v); err != nil {
		return err
	}
	a.audit(r, "customer.delete", id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *CRMAPI) addPhone(w http.ResponseWriter, r *http.Request) error {
	var p cti.Phone
	if err := decodeJSON(w, r, &p); err != nil {
		return err
	}
	c, err := a.Admin.AddPhone(r.Context(), r.PathValue("id"), p)
	if err != nil {
		return err
	}
	a.audit(r, "customer.phone.add", c.ID)
	writeCustomer(w, http.StatusOK, c)
	return nil
}

func (a *CRMAPI) removePhone(w http.ResponseWriter, r *http.Request) error {
	c, err := a.Admin.RemovePhone(r.Context(), r.PathValue("id"), r.PathValue("number"))
	if err != nil {
		return err
	}
	a.audit(r, "customer.phone.remove", c.ID)
	writeCustomer(w, http.StatusOK, c)
	return nil
}

func (a *CRMAPI) addEmail(w http.ResponseWriter, r *http.Request) error {
	var e cti.Email
	if err := decodeJSON(w, r, &e); err != nil {
		return err
	}
	c, err := a.Admin.AddEmail(r.Context(), r.PathValue("id"), e)
	if err != nil {
		return err
	}
	a.audit(r, "customer.email.add", c.ID)
	writeCustomer(w, http.StatusOK, c)
	return nil
}

func (a *CRMAPI) removeEmail(w http.ResponseWriter, r *http.Request) error {
	c, err := a.Admin.RemoveEmail(r.Context(), r.PathValue("id"), r.PathValue("address"))
	if err != nil {
		return err
	}
	a.audit(r, "customer.email.remove", c.ID)
	writeCustomer(w, http.StatusOK, c)
	return nil
}

func (a *CRMAPI) timeline(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	items, next, err := a.Customers.Timeline(r.Context(), r.PathValue("id"), r.URL.Query().Get("cursor"), limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "next": next})
	return nil
}

func (a *CRMAPI) lookup(w http.ResponseWriter, r *http.Request) error {
	c, err := a.Customers.LookupByPhone(r.Context(), r.URL.Query().Get("phone"))
	if err != nil {
		return err
	}
	writeCustomer(w, http.StatusOK, c)
	return nil
}

func (a *CRMAPI) getInteraction(w http.ResponseWriter, r *http.Request) error {
	in, err := a.Customers.Interaction(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, in)
	return nil
}

type dispositionInput struct {
	AgentID string `json:"agent_id"` // until sessions say who the agent is
	Code    string `json:"code"`
	Notes   string `json:"notes"`
}

func (a *CRMAPI) setDisposition(w http.ResponseWriter, r *http.Request) error {
	var in dispositionInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	id := r.PathValue("id")
	if a.AgentID != nil {
		in.AgentID = a.AgentID(r)
	}
	if err := a.Interactions.SetDisposition(r.Context(), id, in.AgentID, in.Code, in.Notes); err != nil {
		return err
	}
	a.audit(r, "interaction.disposition", id)
	it, err := a.Customers.Interaction(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, it)
	return nil
}

// scriptResponse carries the script and, when a customer or an interaction is named, its rendering: HTML-escaped Markdown (see
// cti.RenderScript) for the page's safe Markdown subset.
type scriptResponse struct {
	Script   *cti.Script `json:"script"`
	Rendered string      `json:"rendered"`
}

// script serves GET /api/v1/scripts/{queue}?tier=&customer_id=&interaction_id=. The tier defaults to the customer's.
func (a *CRMAPI) script(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var c *cti.Customer
	if id := q.Get("customer_id"); id != "" {
		var err error
		if c, err = a.Customers.Customer(r.Context(), id); err != nil {
			return err
		}
	}
	var inputs map[string]string
	if id := q.Get("interaction_id"); id != "" {
		in, err := a.Customers.Interaction(r.Context(), id)
		if err != nil {
			return err
		}
		inputs = in.Inputs
		if c == nil && in.CustomerID != "" {
			if c, err = a.Customers.Customer(r.Context(), in.CustomerID); err != nil && cti.ErrorCode(err) != cti.ENOTFOUND {
				return err
			}
		}
	}
	tier := cti.Tier(q.Get("tier"))
	if tier == "" && c != nil {
		tier = c.Tier
	}
	sc, err := a.Config.Script(r.Context(), r.PathValue("queue"), tier)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, scriptResponse{Script: sc, Rendered: cti.RenderScript(sc.Body, cti.ScriptVars(c, inputs))})
	return nil
}

func (a *CRMAPI) dispositions(w http.ResponseWriter, r *http.Request) error {
	ds, err := a.Config.Dispositions(r.Context(), r.URL.Query().Get("queue"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": ds})
	return nil
}

func (a *CRMAPI) reasonCodes(w http.ResponseWriter, r *http.Request) error {
	rc, err := a.Config.ReasonCodes(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": rc})
	return nil
}
