package crmstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/nyaruka/phonenumbers"

	"github.com/switchboard-cc/switchboard/cti"
)

// customerSelect reads a customer with its numbers and addresses in one round trip.
const customerSelect = `select c.id::text, c.name, c.company, c.language, c.tier, c.tags, c.notes, c.fields,
	coalesce(c.owner_agent_id::text, ''), c.created_at, c.updated_at, c.version,
	coalesce((select json_agg(json_build_object('number', p.e164, 'kind', p.kind) order by p.position, p.e164)
		from customer_phones p where p.customer_id = c.id), '[]'),
	coalesce((select json_agg(json_build_object('address', e.address) order by e.position, e.address)
		from customer_emails e where e.customer_id = c.id), '[]')
	from customers c`

func scanCustomer(row pgx.Row) (*cti.Customer, error) {
	var c cti.Customer
	var tier string
	err := row.Scan(&c.ID, &c.Name, &c.Company, &c.Language, &tier, &c.Tags, &c.Notes, &c.Fields, &c.OwnerAgentID,
		&c.CreatedAt, &c.UpdatedAt, &c.Version, &c.Phones, &c.Emails)
	if err != nil {
		return nil, err
	}
	c.Tier = cti.Tier(tier)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	if len(c.Fields) == 0 {
		c.Fields = nil
	}
	if len(c.Tags) == 0 {
		c.Tags = nil
	}
	return &c, nil
}

// LookupByPhone finds the customer owning a number given in any common format.
func (s *Store) LookupByPhone(ctx context.Context, raw string) (*cti.Customer, error) {
	e164, err := NormalizePhone("phone", raw, s.region, false)
	if err != nil {
		return nil, err
	}
	row := s.db.Pool.QueryRow(ctx, customerSelect+
		` where c.id = (select customer_id from customer_phones where e164 = $1) and c.deleted_at is null`, e164)
	c, err := scanCustomer(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, cti.Errorf(cti.ENOTFOUND, "no customer with number %s", e164)
	}
	return c, dbError(err, "lookup by phone")
}

// MaxPhonesPerLookup bounds the numbers of one LookupByPhones.
const MaxPhonesPerLookup = 1000

// LookupByPhones finds the owners of several numbers in one query: found[i] is the customer owning raws[i], nil when the
// number is unknown, belongs to a deleted customer or cannot be a phone number (what LookupByPhone reports as ENOTFOUND or
// EINVALID). An error means the query failed, for every number. The engine looks up the callers of concurrent calls so:
// one round trip and one statement for the batch instead of one each.
func (s *Store) LookupByPhones(ctx context.Context, raws []string) (found []*cti.Customer, err error) {
	if len(raws) > MaxPhonesPerLookup {
		return nil, cti.Invalid("phones", "at most %d numbers at once", MaxPhonesPerLookup)
	}
	found = make([]*cti.Customer, len(raws))
	numbers := make([]string, 0, len(raws))
	at := make(map[string][]int, len(raws)) // E.164 → indexes in raws
	for i, raw := range raws {
		e164, err := normalizePhone("phone", raw, s.region, false, false)
		if err != nil {
			continue
		}
		if at[e164] == nil {
			numbers = append(numbers, e164)
		}
		at[e164] = append(at[e164], i)
	}
	if len(numbers) == 0 {
		return found, nil
	}
	rows, err := s.db.Pool.Query(ctx, `select ph.e164, `+strings.TrimPrefix(customerSelect, "select ")+
		` join customer_phones ph on ph.customer_id = c.id where ph.e164 = any($1) and c.deleted_at is null`, numbers)
	if err != nil {
		return nil, dbError(err, "lookup by phone")
	}
	defer rows.Close()
	for rows.Next() {
		var e164 string
		c, err := scanCustomer(prefixRow{rows, &e164})
		if err != nil {
			return nil, dbError(err, "lookup by phone")
		}
		for _, i := range at[e164] {
			found[i] = c
		}
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, "lookup by phone")
	}
	return found, nil
}

// prefixRow scans a row's first column into first and the rest as scanCustomer asks.
type prefixRow struct {
	rows  pgx.Rows
	first *string
}

func (r prefixRow) Scan(dest ...any) error { return r.rows.Scan(append([]any{r.first}, dest...)...) }

// Customer returns a customer that has not been deleted.
func (s *Store) Customer(ctx context.Context, id string) (*cti.Customer, error) {
	return s.customer(ctx, s.db.Pool, id)
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func (s *Store) customer(ctx context.Context, q querier, id string) (*cti.Customer, error) {
	if _, err := parseID(id, "customer"); err != nil {
		return nil, err
	}
	c, err := scanCustomer(q.QueryRow(ctx, customerSelect+` where c.id = $1 and c.deleted_at is null`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, cti.Errorf(cti.ENOTFOUND, "customer %s not found", id)
	}
	return c, dbError(err, "read customer")
}

// cleanCustomer validates c and normalizes it in place (trimmed text, E.164 numbers, lower-case addresses, default tier and
// kinds). All problems are reported at once, per field.
func (s *Store) cleanCustomer(c *cti.Customer) error {
	bad := map[string]string{}
	c.Name = strings.TrimSpace(c.Name)
	c.Company = strings.TrimSpace(c.Company)
	c.Language = strings.TrimSpace(c.Language)
	switch {
	case c.Name == "":
		bad["name"] = "a name is required"
	case utf8.RuneCountInString(c.Name) > 200:
		bad["name"] = "at most 200 characters"
	}
	if utf8.RuneCountInString(c.Company) > 200 {
		bad["company"] = "at most 200 characters"
	}
	if len(c.Language) > 35 {
		bad["language"] = "not a language tag"
	}
	if c.Tier == "" {
		c.Tier = cti.TierStandard
	} else if !c.Tier.Valid() {
		bad["tier"] = fmt.Sprintf("unknown tier %q (platinum, gold or standard)", c.Tier)
	}
	tags := c.Tags[:0:0]
	for i, t := range c.Tags {
		t = strings.TrimSpace(t)
		if t == "" || utf8.RuneCountInString(t) > 40 {
			bad[fmt.Sprintf("tags[%d]", i)] = "a tag has 1 to 40 characters"
		}
		tags = append(tags, t)
	}
	c.Tags = tags
	if len(c.Tags) > 32 {
		bad["tags"] = "at most 32 tags"
	}
	if len(c.Fields) > 64 {
		bad["fields"] = "at most 64 custom fields"
	}
	for k := range c.Fields {
		if k == "" || len(k) > 64 {
			bad["fields"] = "a custom field name has 1 to 64 characters"
		}
	}
	if c.OwnerAgentID != "" {
		if _, err := parseID(c.OwnerAgentID, "agent"); err != nil {
			bad["owner_agent_id"] = "not an agent id"
		}
	}
	seen := map[string]int{}
	for i := range c.Phones {
		p := &c.Phones[i]
		field := fmt.Sprintf("phones[%d].number", i)
		e164, err := NormalizePhone(field, p.Number, s.region, true)
		if err != nil {
			bad[field] = fieldMessage(err)
			continue
		}
		if j, dup := seen[e164]; dup {
			bad[field] = fmt.Sprintf("the same number as phones[%d]", j)
		}
		seen[e164] = i
		p.Number = e164
		if p.Kind == "" {
			p.Kind = cti.PhoneMobile
		} else if !p.Kind.Valid() {
			bad[fmt.Sprintf("phones[%d].kind", i)] = "mobile, work or home"
		}
	}
	seenMail := map[string]int{}
	for i := range c.Emails {
		field := fmt.Sprintf("emails[%d].address", i)
		a, err := normalizeEmail(field, c.Emails[i].Address)
		if err != nil {
			bad[field] = fieldMessage(err)
			continue
		}
		if j, dup := seenMail[a]; dup {
			bad[field] = fmt.Sprintf("the same address as emails[%d]", j)
		}
		seenMail[a] = i
		c.Emails[i].Address = a
	}
	return invalidFields("invalid customer", bad)
}

func normalizeEmail(field, raw string) (string, error) {
	a := strings.ToLower(strings.TrimSpace(raw))
	at := strings.IndexByte(a, '@')
	switch {
	case a == "":
		return "", cti.Invalid(field, "an address is required")
	case len(a) > 254:
		return "", cti.Invalid(field, "too long")
	case at <= 0 || at == len(a)-1 || strings.Count(a, "@") != 1 || strings.ContainsAny(a, " \t\r\n<>\",;"):
		return "", cti.Invalid(field, "not an e-mail address")
	case !utf8.ValidString(a):
		return "", cti.Invalid(field, "not an e-mail address")
	}
	return a, nil
}

// checkOwners reports ECONFLICT naming the customer when one of the numbers or addresses already belongs to another customer.
func checkOwners(ctx context.Context, tx pgx.Tx, self string, phones []cti.Phone, emails []cti.Email) error {
	nums := make([]string, len(phones))
	for i, p := range phones {
		nums[i] = p.Number
	}
	addrs := make([]string, len(emails))
	for i, e := range emails {
		addrs[i] = e.Address
	}
	var key, ownerID, ownerName string
	err := tx.QueryRow(ctx, `select k, c.id::text, c.name from (
			select e164 as k, customer_id from customer_phones where e164 = any($1)
			union all
			select address, customer_id from customer_emails where address = any($2)) o
		join customers c on c.id = o.customer_id
		where c.id::text <> $3 limit 1`, nums, addrs, self).Scan(&key, &ownerID, &ownerName)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	field := "emails"
	for i, n := range nums {
		if n == key {
			field = fmt.Sprintf("phones[%d].number", i)
		}
	}
	for i, a := range addrs {
		if a == key {
			field = fmt.Sprintf("emails[%d].address", i)
		}
	}
	return &cti.Error{Code: cti.ECONFLICT, Field: field,
		Message: fmt.Sprintf("%s already belongs to customer %q (%s)", key, ownerName, ownerID)}
}

// insertContacts stores the numbers and addresses of customer id, in the order given.
func insertContacts(ctx context.Context, tx pgx.Tx, id string, phones []cti.Phone, emails []cti.Email) error {
	if len(phones) > 0 {
		nums, kinds := make([]string, len(phones)), make([]string, len(phones))
		for i, p := range phones {
			nums[i], kinds[i] = p.Number, string(p.Kind)
		}
		if _, err := tx.Exec(ctx, `insert into customer_phones (e164, customer_id, kind, position)
			select n, $1, k, o - 1 from unnest($2::text[], $3::text[]) with ordinality as t(n, k, o)`, id, nums, kinds); err != nil {
			return contactError(err)
		}
	}
	if len(emails) > 0 {
		addrs := make([]string, len(emails))
		for i, e := range emails {
			addrs[i] = e.Address
		}
		if _, err := tx.Exec(ctx, `insert into customer_emails (address, customer_id, position)
			select a, $1, o - 1 from unnest($2::text[]) with ordinality as t(a, o)`, id, addrs); err != nil {
			return contactError(err)
		}
	}
	return nil
}

// contactError maps a constraint violation that slipped past checkOwners (a concurrent writer) to a conflict.
func contactError(err error) error {
	if code, _ := pgCode(err); code == pgUniqueViolation {
		return cti.Errorf(cti.ECONFLICT, "a number or address was just given to another customer")
	}
	return err
}

func ownerError(err error) error {
	if code, c := pgCode(err); code == pgForeignKeyViolation && strings.Contains(c, "owner_agent") {
		return cti.Invalid("owner_agent_id", "no such agent")
	}
	if code, c := pgCode(err); code == pgUniqueViolation && c == "customers_account" {
		return &cti.Error{Code: cti.ECONFLICT, Field: "fields.account", Message: "the account number was just given to another customer"}
	}
	return err
}

// CreateCustomer stores c with its numbers and addresses in one transaction and fills in ID, Version and the timestamps.
func (s *Store) CreateCustomer(ctx context.Context, c *cti.Customer) error {
	if err := s.cleanCustomer(c); err != nil {
		return err
	}
	if c.ID == "" {
		c.ID = newID()
	} else if _, err := parseID(c.ID, "customer"); err != nil {
		return cti.Invalid("id", "not a UUID")
	}
	now := s.now()
	err := s.inTx(ctx, "create customer", func(tx pgx.Tx) error {
		if err := checkOwners(ctx, tx, c.ID, c.Phones, c.Emails); err != nil {
			return err
		}
		if err := checkAccount(ctx, tx, c.ID, c.Fields); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `insert into customers (id, name, company, language, tier, tags, notes, fields, owner_agent_id,
				created_at, updated_at, version) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, 1)`,
			c.ID, c.Name, c.Company, c.Language, string(c.Tier), nonNilTags(c.Tags), c.Notes, nonNilFields(c.Fields),
			nullable(c.OwnerAgentID), now)
		if code, _ := pgCode(err); code == pgUniqueViolation {
			return &cti.Error{Code: cti.ECONFLICT, Field: "id", Message: "a customer with this id exists"}
		}
		if err != nil {
			return ownerError(err)
		}
		if err := insertContacts(ctx, tx, c.ID, c.Phones, c.Emails); err != nil {
			return err
		}
		return s.emit(ctx, tx, cti.EventCustomerCreated, c.ID, now, func() (any, error) { return s.customer(ctx, tx, c.ID) })
	})
	if err != nil {
		return err
	}
	c.Version, c.CreatedAt, c.UpdatedAt = 1, now, now
	return nil
}

func nonNilTags(t []string) []string {
	if t == nil {
		return []string{}
	}
	return t
}

func nonNilFields(f map[string]string) map[string]string {
	if f == nil {
		return map[string]string{}
	}
	return f
}

// bumpVersion advances the version of a live customer if it is still expected (any version when expected is 0) and reports
// ENOTFOUND or EPRECONDITION otherwise.
func bumpVersion(ctx context.Context, tx pgx.Tx, id string, expected int64, now any) (int64, error) {
	var v int64
	err := tx.QueryRow(ctx, `update customers set version = version + 1, updated_at = $3
		where id = $1 and deleted_at is null and ($2 = 0 or version = $2) returning version`, id, expected, now).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, staleOrMissing(ctx, tx, id, expected)
	}
	return v, err
}

func staleOrMissing(ctx context.Context, tx pgx.Tx, id string, expected int64) error {
	var current int64
	err := tx.QueryRow(ctx, `select version from customers where id = $1 and deleted_at is null`, id).Scan(&current)
	if errors.Is(err, pgx.ErrNoRows) {
		return cti.Errorf(cti.ENOTFOUND, "customer %s not found", id)
	}
	if err != nil {
		return err
	}
	return &cti.Error{Code: cti.EPRECONDITION, Field: "version",
		Message: fmt.Sprintf("the customer was changed by someone else (version %d, you edited version %d); reload and retry", current, expected)}
}

// UpdateCustomer writes c if c.Version is still current. Non-nil Phones and Emails replace the stored sets in the same transaction.
func (s *Store) UpdateCustomer(ctx context.Context, c *cti.Customer) error {
	if _, err := parseID(c.ID, "customer"); err != nil {
		return err
	}
	if c.Version <= 0 {
		return cti.Invalid("version", "the version you read is required")
	}
	if err := s.cleanCustomer(c); err != nil {
		return err
	}
	now := s.now()
	err := s.inTx(ctx, "update customer", func(tx pgx.Tx) error {
		if err := checkAccount(ctx, tx, c.ID, c.Fields); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `update customers set name = $3, company = $4, language = $5, tier = $6, tags = $7, notes = $8,
				fields = $9, owner_agent_id = $10, version = version + 1, updated_at = $11
			where id = $1 and version = $2 and deleted_at is null`,
			c.ID, c.Version, c.Name, c.Company, c.Language, string(c.Tier), nonNilTags(c.Tags), c.Notes, nonNilFields(c.Fields),
			nullable(c.OwnerAgentID), now)
		if err != nil {
			return ownerError(err)
		}
		if tag.RowsAffected() == 0 {
			return staleOrMissing(ctx, tx, c.ID, c.Version)
		}
		if c.Phones != nil || c.Emails != nil {
			if err := checkOwners(ctx, tx, c.ID, c.Phones, c.Emails); err != nil {
				return err
			}
		}
		if c.Phones != nil {
			if _, err := tx.Exec(ctx, `delete from customer_phones where customer_id = $1`, c.ID); err != nil {
				return err
			}
			if err := insertContacts(ctx, tx, c.ID, c.Phones, nil); err != nil {
				return err
			}
		}
		if c.Emails != nil {
			if _, err := tx.Exec(ctx, `delete from customer_emails where customer_id = $1`, c.ID); err != nil {
				return err
			}
			if err := insertContacts(ctx, tx, c.ID, nil, c.Emails); err != nil {
				return err
			}
		}
		stored, err := s.customer(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		*c = *stored
		return s.emit(ctx, tx, cti.EventCustomerUpdated, c.ID, now, func() (any, error) { return stored, nil })
	})
	return err
}

// DeleteCustomer soft-deletes a customer: it keeps its interactions, disappears from lookups and search, and its numbers and
// addresses are released so they can be given to someone else.
func (s *Store) DeleteCustomer(ctx context.Context, id string, version int64) error {
	if _, err := parseID(id, "customer"); err != nil {
		return err
	}
	if version <= 0 {
		return cti.Invalid("version", "the version you read is required")
	}
	now := s.now()
	return s.inTx(ctx, "delete customer", func(tx pgx.Tx) error {
		var gone customerDeleted
		err := tx.QueryRow(ctx, `update customers set deleted_at = $3, version = version + 1, updated_at = $3
			where id = $1 and version = $2 and deleted_at is null returning id::text, version, deleted_at`, id, version, now).
			Scan(&gone.ID, &gone.Version, &gone.DeletedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return staleOrMissing(ctx, tx, id, version)
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `delete from customer_phones where customer_id = $1`, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `delete from customer_emails where customer_id = $1`, id); err != nil {
			return err
		}
		gone.DeletedAt = gone.DeletedAt.UTC()
		return s.emit(ctx, tx, cti.EventCustomerUpdated, id, now, func() (any, error) { return gone, nil })
	})
}

// customerDeleted is the payload of the customer.updated event of a soft delete: there is no customer event of its own for
// it, and the deleted customer can no longer be read.
type customerDeleted struct {
	ID        string    `json:"id"`
	Version   int64     `json:"version"`
	DeletedAt time.Time `json:"deleted_at"`
}

// AddPhone gives customer a number (any common format); a number of another customer is ECONFLICT naming them.
func (s *Store) AddPhone(ctx context.Context, customerID string, p cti.Phone) (*cti.Customer, error) {
	if _, err := parseID(customerID, "customer"); err != nil {
		return nil, err
	}
	e164, err := NormalizePhone("number", p.Number, s.region, true)
	if err != nil {
		return nil, err
	}
	if p.Kind == "" {
		p.Kind = cti.PhoneMobile
	} else if !p.Kind.Valid() {
		return nil, cti.Invalid("kind", "mobile, work or home")
	}
	p.Number = e164
	return s.editContacts(ctx, customerID, "add phone", func(tx pgx.Tx) error {
		if err := checkOwners(ctx, tx, customerID, []cti.Phone{p}, nil); err != nil {
			if ce := (*cti.Error)(nil); errors.As(err, &ce) {
				ce.Field = "number"
			}
			return err
		}
		_, err := tx.Exec(ctx, `insert into customer_phones (e164, customer_id, kind, position)
			values ($1, $2, $3, (select coalesce(max(position) + 1, 0) from customer_phones where customer_id = $2))
			on conflict (e164) do update set kind = excluded.kind where customer_phones.customer_id = excluded.customer_id`,
			p.Number, customerID, string(p.Kind))
		return contactError(err)
	})
}

// RemovePhone takes a number (any common format) away from a customer.
func (s *Store) RemovePhone(ctx context.Context, customerID, number string) (*cti.Customer, error) {
	if _, err := parseID(customerID, "customer"); err != nil {
		return nil, err
	}
	e164, err := NormalizePhone("number", number, s.region, false)
	if err != nil {
		return nil, err
	}
	return s.editContacts(ctx, customerID, "remove phone", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `delete from customer_phones where e164 = $1 and customer_id = $2`, e164, customerID)
		if err == nil && tag.RowsAffected() == 0 {
			return cti.Errorf(cti.ENOTFOUND, "the customer has no number %s", e164)
		}
		return err
	})
}

// AddEmail gives a customer an address; an address of another customer is ECONFLICT naming them.
func (s *Store) AddEmail(ctx context.Context, customerID string, e cti.Email) (*cti.Customer, error) {
	if _, err := parseID(customerID, "customer"); err != nil {
		return nil, err
	}
	a, err := normalizeEmail("address", e.Address)
	if err != nil {
		return nil, err
	}
	return s.editContacts(ctx, customerID, "add e-mail", func(tx pgx.Tx) error {
		if err := checkOwners(ctx, tx, customerID, nil, []cti.Email{{Address: a}}); err != nil {
			if ce := (*cti.Error)(nil); errors.As(err, &ce) {
				ce.Field = "address"
			}
			return err
		}
		_, err := tx.Exec(ctx, `insert into customer_emails (address, customer_id, position)
			values ($1, $2, (select coalesce(max(position) + 1, 0) from customer_emails where customer_id = $2))
			on conflict (address) do nothing`, a, customerID)
		return contactError(err)
	})
}

// RemoveEmail takes an address away from a customer.
func (s *Store) RemoveEmail(ctx context.Context, customerID, address string) (*cti.Customer, error) {
	if _, err := parseID(customerID, "customer"); err != nil {
		return nil, err
	}
	a := strings.ToLower(strings.TrimSpace(address))
	return s.editContacts(ctx, customerID, "remove e-mail", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `delete from customer_emails where address = $1 and customer_id = $2`, a, customerID)
		if err == nil && tag.RowsAffected() == 0 {
			return cti.Errorf(cti.ENOTFOUND, "the customer has no address %s", a)
		}
		return err
	})
}

// editContacts runs edit in a transaction that also advances the customer's version and writes the customer.updated event,
// and returns the customer as stored.
func (s *Store) editContacts(ctx context.Context, id, what string, edit func(pgx.Tx) error) (*cti.Customer, error) {
	var c *cti.Customer
	err := s.inTx(ctx, what, func(tx pgx.Tx) error {
		now := s.now()
		// Bumping first locks the row, so concurrent edits of one customer's numbers queue up.
		if _, err := bumpVersion(ctx, tx, id, 0, now); err != nil {
			return err
		}
		if err := edit(tx); err != nil {
			return err
		}
		var err error
		if c, err = s.customer(ctx, tx, id); err != nil {
			return err
		}
		return s.emit(ctx, tx, cti.EventCustomerUpdated, id, now, func() (any, error) { return c, nil })
	})
	return c, err
}

// maxSearch bounds a search page.
const maxSearch = 100

// SearchCustomers finds live customers by number (exact in any format, or prefix), e-mail prefix, or name or company prefix, in
// that order of preference; when no prefix matches, names similar to q (pg_trgm) are returned, most similar first.
func (s *Store) SearchCustomers(ctx context.Context, q string, limit int) ([]cti.Customer, error) {
	q = strings.TrimSpace(q)
	if q == "" {
		return nil, cti.Invalid("q", "a search term is required")
	}
	if utf8.RuneCountInString(q) > 100 || !utf8.ValidString(q) {
		return nil, cti.Invalid("q", "at most 100 characters")
	}
	if limit <= 0 || limit > maxSearch {
		limit = 20
	}
	var ids []string
	var err error
	if digits, ok := phoneQuery(q); ok {
		ids, err = s.searchPhone(ctx, q, digits, limit)
	} else {
		ids, err = s.searchText(ctx, q, limit)
	}
	if err != nil {
		return nil, dbError(err, "search customers")
	}
	return s.customersByID(ctx, ids)
}

// phoneQuery reports whether q looks like (part of) a phone number and returns its digits.
func phoneQuery(q string) (string, bool) {
	var b strings.Builder
	for i, r := range q {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ', r == '-', r == '.', r == '(', r == ')':
		case r == '+' && i == 0:
		default:
			return "", false
		}
	}
	return b.String(), b.Len() >= 3
}

func (s *Store) searchPhone(ctx context.Context, q, digits string, limit int) ([]string, error) {
	if e164, err := NormalizePhone("q", q, s.region, false); err == nil {
		var id string
		err := s.db.Pool.QueryRow(ctx, `select p.customer_id::text from customer_phones p join customers c on c.id = p.customer_id
			where p.e164 = $1 and c.deleted_at is null`, e164).Scan(&id)
		if err == nil {
			return []string{id}, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil, err
		}
	}
	var prefix string
	switch {
	case strings.HasPrefix(q, "+"):
		prefix = "+" + digits
	case strings.HasPrefix(digits, "00"):
		prefix = "+" + digits[2:]
	default: // national: the region's country code, without the trunk prefix
		prefix = "+" + strconv.Itoa(phonenumbers.GetCountryCodeForRegion(s.region)) + strings.TrimLeft(digits, "0")
	}
	rows, err := s.db.Pool.Query(ctx, `select p.customer_id::text from customer_phones p join customers c on c.id = p.customer_id
		where p.e164 like $1 and c.deleted_at is null order by p.e164 limit $2`, likePrefix(prefix), limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

func (s *Store) searchText(ctx context.Context, q string, limit int) ([]string, error) {
	lq := strings.ToLower(q)
	pat := likePrefix(lq)
	// "customers.id", not "id": that would be the select list's id::text, which the prefix indexes cannot give in order, so every
	// match would be read and sorted.
	rows, err := s.db.Pool.Query(ctx, `
		(select id::text, 0 from customers where deleted_at is null and lower(name) collate "C" like $1
			order by lower(name) collate "C", customers.id limit $2)
		union all
		(select id::text, 1 from customers where deleted_at is null and company <> '' and lower(company) collate "C" like $1
			order by lower(company) collate "C", customers.id limit $2)
		union all
		(select e.customer_id::text, 2 from customer_emails e where e.address like $1 order by e.address limit $2)`, pat, limit)
	if err != nil {
		return nil, err
	}
	ids, err := collectIDs(rows, limit)
	if err != nil || len(ids) > 0 {
		return ids, err
	}
	// Nothing starts with q: try names that look like it (typos, a missing letter).
	rows, err = s.db.Pool.Query(ctx, `select id::text, 0 from customers
		where deleted_at is null and lower(name) % $1 order by similarity(lower(name), $1) desc, customers.id limit $2`, lq, limit)
	if err != nil {
		return nil, err
	}
	return collectIDs(rows, limit)
}

// collectIDs reads (id, rank) rows in order, dropping repeats, up to limit.
func collectIDs(rows pgx.Rows, limit int) ([]string, error) {
	var ids []string
	seen := map[string]bool{}
	var id string
	var rank int
	_, err := pgx.ForEachRow(rows, []any{&id, &rank}, func() error {
		if !seen[id] && len(ids) < limit {
			seen[id] = true
			ids = append(ids, id)
		}
		return nil
	})
	return ids, err
}

// customersByID reads live customers in the order of ids.
func (s *Store) customersByID(ctx context.Context, ids []string) ([]cti.Customer, error) {
	if len(ids) == 0 {
		return []cti.Customer{}, nil
	}
	rows, err := s.db.Pool.Query(ctx, customerSelect+` where c.id = any($1::uuid[]) and c.deleted_at is null`, ids)
	if err != nil {
		return nil, dbError(err, "read customers")
	}
	byID := map[string]*cti.Customer{}
	for rows.Next() {
		c, err := scanCustomer(rows)
		if err != nil {
			rows.Close()
			return nil, dbError(err, "read customers")
		}
		byID[c.ID] = c
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err, "read customers")
	}
	out := make([]cti.Customer, 0, len(ids))
	for _, id := range ids {
		if c := byID[id]; c != nil {
			out = append(out, *c)
		}
	}
	return out, nil
}
