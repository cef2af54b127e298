package crmstore

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"golang.org/x/sync/errgroup"

	"github.com/switchboard-cc/switchboard/cti"
)

// SeedOptions say what Seed writes.
type SeedOptions struct {
	// Customers is how many demo customers to add (each run adds that many; numbers never collide with earlier runs).
	// Into an empty CRM (no customers, numbers, addresses or interactions) a run is one transaction (see seedBulk): a failed run
	// leaves nothing behind. Otherwise it is one transaction per chunk of 50,000 customers: a failed run may leave whole chunks
	// behind, never half a customer.
	Customers int
	// Rand seeds the generator: the same seed on the same database gives the same names, tiers and histories.
	Rand uint64
	// Demo is first-start mode (make run): customers are added only when the database has none yet.
	Demo bool
	// Workers is how many connections load customers in parallel into a CRM that has customers already (default 2).
	Workers int
	// Region is the phone region of the Store the data is for (DefaultRegion when empty); the demo numbers are Chinese.
	Region string
}

// SeedReport says what Seed wrote.
type SeedReport struct {
	Agents, Queues, Scripts                 int
	Customers, Phones, Emails, Interactions int
	Elapsed                                 time.Duration
}

// The demo staff's passwords. They exist for the demo and tests only: change them (or disable the accounts) on any real system.
const (
	DemoAgentPassword      = "demo-agent"
	DemoSupervisorPassword = "demo-super"
	DemoAdminPassword      = "demo-admin"
)

// seedChunk is how many customers one transaction loads.
const seedChunk = 50_000

// Seed writes the demo staff and configuration (idempotent: running it twice keeps one agent1) and then opts.Customers customers
// with numbers, addresses and a few past interactions each, loaded with COPY in chunks of one transaction each, on opts.Workers
// connections in parallel.
func Seed(ctx context.Context, db *DB, opts SeedOptions) (SeedReport, error) {
	start := time.Now()
	if opts.Workers <= 0 {
		opts.Workers = 2
	}
	if opts.Rand == 0 {
		opts.Rand = 1
	}
	s := NewStore(db, Options{Region: opts.Region})
	var rep SeedReport
	agents, err := seedConfig(ctx, s, &rep)
	if err != nil {
		return rep, err
	}
	if opts.Customers <= 0 {
		rep.Elapsed = time.Since(start)
		return rep, nil
	}
	var existing int
	if err := db.Pool.QueryRow(ctx, `select count(*) from customers`).Scan(&existing); err != nil {
		return rep, dbError(err, "seed")
	}
	if opts.Demo && existing > 0 {
		rep.Elapsed = time.Since(start)
		return rep, nil
	}
	g := newGenerator(opts.Rand, s.now(), agents)
	if existing == 0 {
		done, err := seedBulk(ctx, db, g, opts.Customers, &rep)
		if err != nil {
			return rep, dbError(err, "seed customers")
		}
		if !done { // someone else filled the CRM meanwhile
			if err := db.Pool.QueryRow(ctx, `select count(*) from customers`).Scan(&existing); err != nil {
				return rep, dbError(err, "seed")
			}
		}
		if done || opts.Demo {
			return seedAnalyze(ctx, db, rep, start)
		}
	}
	g.base = existing
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(opts.Workers)
	var mu sync.Mutex
	for first := 0; first < opts.Customers; first += seedChunk {
		eg.Go(func() error {
			var r SeedReport
			err := pgx.BeginFunc(ectx, db.Pool, func(tx pgx.Tx) error {
				return g.load(ectx, tx, first, min(seedChunk, opts.Customers-first), &r)
			})
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				rep.add(r)
			}
			return err
		})
	}
	if err := eg.Wait(); err != nil {
		return rep, dbError(err, "seed customers")
	}
	return seedAnalyze(ctx, db, rep, start)
}

func (r *SeedReport) add(o SeedReport) {
	r.Customers += o.Customers
	r.Phones += o.Phones
	r.Emails += o.Emails
	r.Interactions += o.Interactions
}

// seedAnalyze refreshes the planner's statistics after a load, so the first lookups already get index plans.
func seedAnalyze(ctx context.Context, db *DB, rep SeedReport, start time.Time) (SeedReport, error) {
	if _, err := db.Pool.Exec(ctx, `analyze customers, customer_phones, customer_emails, interactions`); err != nil {
		return rep, dbError(err, "seed: analyze")
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

var seedQueueNames = []string{"billing", "general", "priority", "sales", "support"}

// seedConfig writes skills, queues, dispositions, scripts, reason codes and the staff, and returns the agents' ids.
func seedConfig(ctx context.Context, s *Store, rep *SeedReport) ([]string, error) {
	for _, sk := range []cti.Skill{{Name: "sales", Label: "Sales"}, {Name: "support", Label: "Technical support"},
		{Name: "billing", Label: "Billing"}, {Name: "english", Label: "English"}, {Name: "chinese", Label: "Chinese (Mandarin)"},
		{Name: "cantonese", Label: "Cantonese"}, {Name: "vip", Label: "VIP care"}} {
		if err := s.PutSkill(ctx, sk); err != nil {
			return nil, err
		}
	}
	esc := func(skill string) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`[{"after":"0s","skills":[{"skill":%q,"min":7}]},`+
			`{"after":"30s","skills":[{"skill":%[1]q,"min":4}]},{"after":"90s","any":true},{"after":"180s","overflow":"general"}]`, skill))
	}
	queues := []cti.QueueConfig{
		{Name: "general", Strategy: "longest-idle", SLTarget: 0.8, SLThreshold: 30 * time.Second, WrapUp: 15 * time.Second,
			RingTimeout: 15 * time.Second, MaxWait: 15 * time.Minute, Escalation: json.RawMessage(`[{"after":"0s","any":true}]`)},
		{Name: "sales", Strategy: "best-proficiency", SLTarget: 0.8, SLThreshold: 20 * time.Second, WrapUp: 20 * time.Second,
			RingTimeout: 15 * time.Second, MaxWait: 10 * time.Minute, Overflow: "general", Escalation: esc("sales")},
		{Name: "support", Strategy: "longest-idle", SLTarget: 0.8, SLThreshold: 30 * time.Second, WrapUp: 30 * time.Second,
			RingTimeout: 15 * time.Second, MaxWait: 15 * time.Minute, Overflow: "general", Escalation: esc("support"),
			RequireDisposition: true},
		{Name: "billing", Strategy: "best-proficiency", SLTarget: 0.8, SLThreshold: 20 * time.Second, WrapUp: 20 * time.Second,
			RingTimeout: 15 * time.Second, MaxWait: 10 * time.Minute, Overflow: "general", Escalation: esc("billing"),
			RequireDisposition: true},
		{Name: "priority", Strategy: "best-proficiency", SLTarget: 0.9, SLThreshold: 10 * time.Second, WrapUp: 30 * time.Second,
			RingTimeout: 12 * time.Second, MaxWait: 5 * time.Minute, Overflow: "general", Escalation: esc("vip"), MaxLength: 50,
			RequireDisposition: true},
	}
	for _, q := range queues {
		q.TimeZone = "Asia/Shanghai"
		if err := s.PutQueue(ctx, q); err != nil {
			return nil, err
		}
		rep.Queues++
	}
	global := []cti.Disposition{{Code: "resolved", Label: "Resolved"}, {Code: "follow-up", Label: "Follow-up needed"},
		{Code: "wrong-number", Label: "Wrong number"}, {Code: "no-answer", Label: "Caller silent / dropped"}}
	perQueue := map[string][]cti.Disposition{
		"sales":    {{Code: "sale", Label: "Sale made"}, {Code: "quote-sent", Label: "Quote sent"}, {Code: "not-interested", Label: "Not interested"}},
		"support":  {{Code: "fixed", Label: "Fixed on the call"}, {Code: "ticket", Label: "Ticket opened"}, {Code: "escalated", Label: "Escalated to 2nd line"}},
		"billing":  {{Code: "payment-taken", Label: "Payment taken"}, {Code: "refund", Label: "Refund issued"}, {Code: "dispute", Label: "Dispute opened"}},
		"priority": {{Code: "vip-handled", Label: "Handled by VIP desk"}, {Code: "account-review", Label: "Account review booked"}},
	}
	for i, d := range global {
		if err := s.PutDisposition(ctx, d, i); err != nil {
			return nil, err
		}
	}
	for _, q := range seedQueueNames {
		for i, d := range perQueue[q] {
			d.Queue = q
			if err := s.PutDisposition(ctx, d, i); err != nil {
				return nil, err
			}
		}
	}
	for i, r := range []cti.ReasonCode{{Code: "break", Label: "Break"}, {Code: "lunch", Label: "Lunch"},
		{Code: "training", Label: "Training"}, {Code: "meeting", Label: "Meeting"}, {Code: "missed", Label: "Missed an offer"},
		{Code: "disconnected", Label: "Phone disconnected"}} {
		if err := s.PutReasonCode(ctx, r, i); err != nil {
			return nil, err
		}
	}
	for _, q := range seedQueueNames {
		for _, tier := range []cti.Tier{"", cti.TierPlatinum} {
			var n int
			if err := s.db.Pool.QueryRow(ctx, `select count(*) from scripts where queue = $1 and tier is not distinct from $2`,
				q, nullable(string(tier))).Scan(&n); err != nil {
				return nil, dbError(err, "seed scripts")
			}
			if n > 0 {
				continue
			}
			sc := &cti.Script{Queue: q, Tier: tier, Title: "Greeting — " + q, Body: seedScript(q, tier)}
			if err := s.PutScript(ctx, sc); err != nil {
				return nil, err
			}
			rep.Scripts++
		}
	}
	staff := []struct {
		a        cti.AgentConfig
		password string
	}{
		{cti.AgentConfig{Login: "agent1", DisplayName: "Li Na (agent1)", Role: cti.RoleAgent, Endpoint: "PJSIP/1001",
			Skills: []cti.AgentSkill{sk("sales", 8), sk("support", 5), sk("chinese", 10), sk("english", 6), sk("vip", 7)},
			Queues: []string{"general", "priority", "sales", "support"}}, DemoAgentPassword},
		{cti.AgentConfig{Login: "agent2", DisplayName: "Wang Wei (agent2)", Role: cti.RoleAgent, Endpoint: "PJSIP/1002",
			Skills: []cti.AgentSkill{sk("billing", 9), sk("support", 7), sk("chinese", 10), sk("cantonese", 8)},
			Queues: []string{"billing", "general", "support"}}, DemoAgentPassword},
		{cti.AgentConfig{Login: "agent3", DisplayName: "Emily Chen (agent3)", Role: cti.RoleAgent, Endpoint: "PJSIP/1003",
			Skills: []cti.AgentSkill{sk("billing", 5), sk("sales", 6), sk("english", 10), sk("chinese", 7), sk("vip", 9)},
			Queues: []string{"billing", "general", "priority", "sales"}}, DemoAgentPassword},
		{cti.AgentConfig{Login: "supervisor", DisplayName: "Zhang Min (supervisor)", Role: cti.RoleSupervisor, Endpoint: "webrtc",
			Skills: []cti.AgentSkill{sk("support", 9), sk("billing", 8), sk("sales", 8), sk("chinese", 10), sk("english", 8), sk("vip", 10)},
			Queues: []string{"priority"}}, DemoSupervisorPassword},
		{cti.AgentConfig{Login: "admin", DisplayName: "Administrator", Role: cti.RoleAdmin, Endpoint: "webrtc"}, DemoAdminPassword},
	}
	var ids []string
	for _, st := range staff {
		pw := st.password
		if _, err := s.AgentByLogin(ctx, st.a.Login); err == nil {
			pw = "" // keep a password someone may have changed
		}
		a := st.a
		if err := s.PutAgent(ctx, &a, pw); err != nil {
			return nil, err
		}
		rep.Agents++
		if a.Role != cti.RoleAdmin {
			ids = append(ids, a.ID)
		}
	}
	return ids, nil
}

func sk(skill string, proficiency int) cti.AgentSkill {
	return cti.AgentSkill{Skill: skill, Proficiency: proficiency}
}

func seedScript(queue string, tier cti.Tier) string {
	greeting := "Thank you for calling. Am I speaking with **{{customer.name}}**?"
	if tier == cti.TierPlatinum {
		greeting = "Good day **{{customer.name}}**, thank you for being a platinum customer of {{customer.company}}'s account team."
	}
	steps := map[string]string{
		"sales":    "- Ask what they are looking for.\n- Check open quotes for {{customer.company}}.\n- Offer the current promotion.",
		"support":  "- Ask for the product and the symptom.\n- Check the timeline for open tickets.\n- Confirm the fix before closing.",
		"billing":  "- Confirm the account number **{{ivr.account}}**.\n- Read the balance back.\n- Offer a payment plan if needed.",
		"priority": "- Use the customer's preferred language ({{customer.language}}).\n- Escalate anything unresolved to the supervisor.",
		"general":  "- Find the reason of the call.\n- Transfer to sales, support or billing when needed.",
	}
	return "## " + strings.ToUpper(queue[:1]) + queue[1:] + "\n\n" + greeting + "\n\nTier: {{customer.tier}}\n\n" + steps[queue] + "\n"
}

// generator makes deterministic demo customers. Customer g (counting from the customers already in the database) owns mobile
// number g and, for half of them, work number g, so runs never collide.
type generator struct {
	base   int
	seed   uint64
	now    time.Time
	agents []pgtype.UUID
	queues []string
}

func newGenerator(seed uint64, now time.Time, agents []string) *generator {
	g := &generator{seed: seed, now: now, queues: seedQueueNames}
	for _, a := range agents {
		g.agents = append(g.agents, pgtype.UUID{Bytes: uuid.MustParse(a), Valid: true})
	}
	return g
}

var (
	surnames    = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈")
	givenChars  = []rune("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红建文辉力斌宇浩凯鹏飞婷雪琳晨阳欣怡思佳子涵")
	firstNames  = []string{"James", "Mary", "John", "Linda", "David", "Susan", "Michael", "Karen", "Daniel", "Emma", "Oliver", "Sophia", "Lucas", "Mia", "Ethan", "Chloe", "Ryan", "Grace", "Kevin", "Amy"}
	lastNames   = []string{"Smith", "Johnson", "Brown", "Taylor", "Miller", "Wilson", "Moore", "Anderson", "Thomas", "Jackson", "Martin", "Lee", "Walker", "Hall", "Young", "King", "Wright", "Lopez", "Hill", "Scott"}
	cnCities    = []string{"北京", "上海", "广州", "深圳", "杭州", "成都", "南京", "武汉", "西安", "苏州"}
	cnWords     = []string{"星辰", "华通", "远航", "金桥", "东方", "恒信", "博雅", "天成", "瑞丰", "云帆", "新锐", "宏图"}
	cnKinds     = []string{"科技有限公司", "贸易有限公司", "电子股份有限公司", "物流有限公司", "咨询有限公司"}
	enWords     = []string{"Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Vandelay", "Hooli", "Pied Piper", "Soylent", "Tyrell", "Cyberdyne"}
	enKinds     = []string{"Trading Ltd", "Logistics", "Holdings", "Systems", "Partners", "Electronics"}
	mobilePre   = []string{"138", "139", "136", "150", "151", "158", "186", "187", "177", "135"}
	workCities  = []string{"10", "21", "20"}
	mailDomains = []string{"example.com", "example.cn", "mail.example.org"}
	tagWords    = []string{"vip", "newsletter", "complaint", "renewal", "wholesale", "reseller"}
)

// mobile returns the mobile number of customer g: 10 prefixes × 10⁸ numbers, the last 8 digits scrambled by a bijection.
func mobile(g int) string {
	n := (uint64(g%100_000_000)*7919 + 12345678) % 100_000_000
	return appendDigits(append([]byte("+86"), mobilePre[(g/100_000_000)%len(mobilePre)]...), n, 8)
}

// work returns the work (landline) number of customer g: 3 cities × 10⁷ numbers starting with 6.
func work(g int) string {
	n := (uint64(g%10_000_000)*7919 + 1234567) % 10_000_000
	return appendDigits(append(append([]byte("+86"), workCities[(g/10_000_000)%len(workCities)]...), '6'), n, 7)
}

// appendDigits appends n as exactly width decimal digits (zero-padded) and returns the number as a string; the generator makes
// millions of numbers, and fmt would be most of its time.
func appendDigits(b []byte, n uint64, width int) string {
	b = append(b, make([]byte, width)...)
	for i := len(b) - 1; i >= len(b)-width; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b)
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// load writes customers [first, first+n) of this run, with their numbers, addresses and interactions, in tx, and counts them in
// rep.
func (g *generator) load(ctx context.Context, tx pgx.Tx, first, n int, rep *SeedReport) error {
	r := rand.New(rand.NewPCG(g.seed, uint64(first)))
	type cust struct {
		id        uuid.UUID
		g         int
		name      string
		email     string
		hasWork   bool
		tier      string
		createdAt time.Time
	}
	cs := make([]cust, n)
	var b strings.Builder
	var jsonBuf []byte // pgx copies a []byte JSON value into its buffer at once, so one buffer serves every row
	for i := range cs {
		c := &cs[i]
		c.g = g.base + first + i
		c.id = uuid.Must(uuid.NewV7())
		b.Reset()
		if r.IntN(10) < 7 {
			b.WriteRune(surnames[r.IntN(len(surnames))])
			for range 1 + r.IntN(2) {
				b.WriteRune(givenChars[r.IntN(len(givenChars))])
			}
		} else {
			b.WriteString(pick(r, firstNames) + " " + pick(r, lastNames))
		}
		c.name = b.String()
		c.hasWork = r.IntN(2) == 0
		if r.IntN(10) < 6 {
			c.email = "c" + strconv.Itoa(c.g) + "@" + pick(r, mailDomains)
		}
		switch x := r.IntN(100); {
		case x < 4:
			c.tier = "platinum"
		case x < 20:
			c.tier = "gold"
		default:
			c.tier = "standard"
		}
		c.createdAt = g.now.Add(-time.Duration(r.Int64N(int64(3 * 365 * 24 * time.Hour)))).Truncate(time.Microsecond)
	}
	{
		i := 0
		cols := []string{"id", "name", "company", "language", "tier", "tags", "notes", "fields", "created_at", "updated_at", "version"}
		cnt, err := tx.CopyFrom(ctx, pgx.Identifier{"customers"}, cols, pgx.CopyFromFunc(func() ([]any, error) {
			if i == len(cs) {
				return nil, nil
			}
			c := &cs[i]
			i++
			chinese := !strings.Contains(c.name, " ")
			company, lang := "", "en"
			if chinese {
				lang = "zh-CN"
			}
			if r.IntN(10) < 6 {
				if chinese {
					company = pick(r, cnCities) + pick(r, cnWords) + pick(r, cnKinds)
				} else {
					company = pick(r, enWords) + " " + pick(r, enKinds)
				}
			}
			var tags []string
			if r.IntN(4) == 0 {
				tags = append(tags, pick(r, tagWords))
			}
			if c.tier == "platinum" {
				tags = append(tags, "vip")
			}
			if tags == nil {
				tags = []string{}
			}
			// JSON made by hand: encoding/json is most of the generator's time otherwise.
			fields := strconv.AppendInt(append(jsonBuf[:0], `{"account":"`...), int64(1_000_000+c.g), 10)
			fields = append(fields, `"}`...)
			jsonBuf = fields
			return []any{c.id, c.name, company, lang, c.tier, tags, "", fields, c.createdAt, c.createdAt, int64(1)}, nil
		}))
		if err != nil {
			return fmt.Errorf("copy customers: %w", err)
		}
		rep.Customers += int(cnt)

		i = 0
		second := false
		cnt, err = tx.CopyFrom(ctx, pgx.Identifier{"customer_phones"}, []string{"e164", "customer_id", "kind", "position"},
			pgx.CopyFromFunc(func() ([]any, error) {
				for i < len(cs) {
					c := &cs[i]
					if !second {
						second = true
						return []any{mobile(c.g), c.id, "mobile", int16(0)}, nil
					}
					second = false
					i++
					if c.hasWork {
						return []any{work(c.g), c.id, "work", int16(1)}, nil
					}
				}
				return nil, nil
			}))
		if err != nil {
			return fmt.Errorf("copy phones: %w", err)
		}
		rep.Phones += int(cnt)

		i = 0
		cnt, err = tx.CopyFrom(ctx, pgx.Identifier{"customer_emails"}, []string{"address", "customer_id", "position"},
			pgx.CopyFromFunc(func() ([]any, error) {
				for i < len(cs) {
					c := &cs[i]
					i++
					if c.email != "" {
						return []any{c.email, c.id, int16(0)}, nil
					}
				}
				return nil, nil
			}))
		if err != nil {
			return fmt.Errorf("copy e-mails: %w", err)
		}
		rep.Emails += int(cnt)

		i = 0
		left := 0
		cnt, err = tx.CopyFrom(ctx, pgx.Identifier{"interactions"}, interactionColumns, pgx.CopyFromFunc(func() ([]any, error) {
			for left == 0 {
				if i == len(cs) {
					return nil, nil
				}
				i++
				left = r.IntN(5) // 0..4, two on average
			}
			left--
			c := &cs[i-1]
			return g.interaction(r, c.id, mobile(c.g), c.tier, c.createdAt), nil
		}))
		if err != nil {
			return fmt.Errorf("copy interactions: %w", err)
		}
		rep.Interactions += int(cnt)
		return nil
	}
}

var seedDispositions = map[string][]string{
	"sales":    {"sale", "quote-sent", "not-interested", "resolved"},
	"support":  {"fixed", "ticket", "escalated", "resolved", "follow-up"},
	"billing":  {"payment-taken", "refund", "dispute", "resolved"},
	"priority": {"vip-handled", "account-review", "resolved"},
	"general":  {"resolved", "follow-up", "wrong-number"},
}

// interaction makes one past contact of a customer, as a row in interactionColumns order.
func (g *generator) interaction(r *rand.Rand, customer uuid.UUID, caller, tier string, since time.Time) []any {
	span := g.now.Sub(since)
	if span <= time.Minute {
		span = time.Minute
	}
	arrived := g.now.Add(-time.Duration(r.Int64N(int64(span)))).Truncate(time.Microsecond)
	queue := pick(r, g.queues)
	if tier == "platinum" && r.IntN(2) == 0 {
		queue = "priority"
	}
	channel := "phone"
	switch x := r.IntN(20); {
	case x == 0:
		channel = "callback"
	case x < 3:
		channel = "webrtc"
	}
	ivr := time.Duration(5+r.IntN(40)) * time.Second
	wait := time.Duration(r.IntN(120)) * time.Second
	queued := arrived.Add(ivr)
	var agent pgtype.UUID
	var offered, answered pgtype.Timestamptz
	var talk, hold, wrap time.Duration
	var disposition pgtype.Text
	outcome := "answered"
	switch x := r.IntN(100); {
	case x < 12:
		outcome = "abandoned"
	case x < 15:
		outcome = "voicemail"
	case x < 18:
		outcome = "overflowed"
	case x < 20:
		outcome = "callback-requested"
	}
	end := queued.Add(wait)
	if outcome == "answered" && len(g.agents) > 0 {
		agent = pick(r, g.agents)
		offered = pgtype.Timestamptz{Time: queued.Add(wait - 3*time.Second), Valid: true}
		answered = pgtype.Timestamptz{Time: queued.Add(wait), Valid: true}
		talk = time.Duration(30+r.IntN(600)) * time.Second
		if r.IntN(5) == 0 {
			hold = time.Duration(r.IntN(90)) * time.Second
		}
		wrap = time.Duration(5+r.IntN(40)) * time.Second
		end = answered.Time.Add(talk + hold)
		disposition = pgtype.Text{String: pick(r, seedDispositions[queue]), Valid: true}
	}
	// The IVR path and inputs as encoding/json writes []cti.IVRStep and map[string]string, made by hand (no escaping is needed).
	path := append(make([]byte, 0, 160), `[{"node":"welcome"},{"node":"menu","input":"`...)
	path = append(strconv.AppendInt(path, int64(1+r.IntN(3)), 10), `"}`...)
	inputs := []byte(`{}`)
	if queue == "billing" {
		account := strconv.Itoa(1_000_000 + r.IntN(9_000_000))
		path = append(path, `,{"node":"account","var":"account","input":"`+account+
			`"},{"node":"pin","var":"pin","input":"`+cti.Masked+`","sensitive":true}`...)
		inputs = []byte(`{"account":"` + account + `","pin":"` + cti.Masked + `"}`)
	}
	path = append(path, ']')
	ms := func(d time.Duration) int64 { return d.Milliseconds() }
	return []any{uuid.Must(uuid.NewV7()), channel, "inbound", pgtype.UUID{Bytes: customer, Valid: true}, caller, "+864008001000",
		pgtype.Text{String: queue, Valid: true}, agent, arrived, optTime(queued), offered, answered, optTime(end),
		ms(ivr), ms(wait), ms(talk), ms(hold), ms(wrap), pgtype.Text{String: outcome, Valid: true}, path, inputs, disposition, "",
		pgtype.Text{}, pgtype.Int8{}, pgtype.Text{}, pgtype.Int8{}, pgtype.UUID{}, "", "", pgtype.UUID{}, pgtype.Int4{}}
}
