package ivr

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is what parsing and loading need from outside.
type Config struct {
	// Catalogue is the set of known prompt sound names. When nil, prompts
	// are not checked against a catalogue.
	Catalogue PromptCatalogue
	// LoadLocation resolves a time zone name; time.LoadLocation when nil.
	LoadLocation func(name string) (*time.Location, error)
}

func (c Config) loadLocation(name string) (*time.Location, error) {
	if c.LoadLocation != nil {
		return c.LoadLocation(name)
	}
	return time.LoadLocation(name)
}

// Parse parses one flow file and validates it on its own (references to
// other flows are checked by Load). The error, if any, is an ErrorList.
func Parse(file string, data []byte, cfg Config) (*Flow, error) {
	p := &parser{file: file, cfg: cfg}
	f := p.parse(data)
	if f != nil && len(p.errs) == 0 {
		p.errs = append(p.errs, validate(f, cfg.Catalogue)...)
	}
	if err := p.errs.err(); err != nil {
		return nil, err
	}
	return f, nil
}

type parser struct {
	file string
	cfg  Config
	errs ErrorList
	node string // node being parsed, for errors
}

func pos(n *yaml.Node) Pos { return Pos{Line: n.Line, Col: n.Column} }

func (p *parser) errorf(at Pos, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.file, Pos: at, Node: p.node, Msg: fmt.Sprintf(format, args...)})
}

type pair struct{ k, v *yaml.Node }

// mapping returns the key/value pairs of a mapping node, reporting
// duplicate keys and non-scalar keys.
func (p *parser) mapping(n *yaml.Node, what string) []pair {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil || n.Kind != yaml.MappingNode {
		if n != nil {
			p.errorf(pos(n), "%s must be a mapping", what)
		}
		return nil
	}
	var out []pair
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(pos(k), "%s: keys must be plain values", what)
			continue
		}
		if v.Kind == yaml.AliasNode {
			if v.Alias == nil {
				continue
			}
			v = v.Alias
		}
		if seen[k.Value] {
			p.errorf(pos(k), "%s: key %q used twice", what, k.Value)
			continue
		}
		seen[k.Value] = true
		out = append(out, pair{k, v})
	}
	return out
}

func (p *parser) scalar(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		p.errorf(pos(n), "%s must be a single value", what)
		return "", false
	}
	return n.Value, true
}

func (p *parser) str(n *yaml.Node, what string) string {
	s, _ := p.scalar(n, what)
	return s
}

func (p *parser) boolean(n *yaml.Node, what string) bool {
	s, ok := p.scalar(n, what)
	if !ok {
		return false
	}
	switch s {
	case "true":
		return true
	case "false":
		return false
	}
	p.errorf(pos(n), "%s must be true or false, not %q", what, s)
	return false
}

func (p *parser) integer(n *yaml.Node, what string, min, max int) int {
	s, ok := p.scalar(n, what)
	if !ok {
		return 0
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < min || v > max {
		p.errorf(pos(n), "%s must be a whole number from %d to %d, not %q", what, min, max, s)
		return 0
	}
	return v
}

func (p *parser) duration(n *yaml.Node, what string) time.Duration {
	s, ok := p.scalar(n, what)
	if !ok {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > 24*time.Hour {
		p.errorf(pos(n), "%s: bad duration %q (want e.g. 5s or 1m30s, up to 24h)", what, s)
		return 0
	}
	return d
}

func (p *parser) regexp(n *yaml.Node, what string) *regexp.Regexp {
	s, ok := p.scalar(n, what)
	if !ok {
		return nil
	}
	re, err := regexp.Compile(s)
	if err != nil {
		p.errorf(pos(n), "%s: bad pattern: %v", what, err)
		return nil
	}
	return re
}

func (p *parser) strings(n *yaml.Node, what string) []string {
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(pos(n), "%s must be a value or a list of values", what)
		return nil
	}
	var out []string
	for _, c := range n.Content {
		if s, ok := p.scalar(c, what); ok {
			out = append(out, s)
		}
	}
	return out
}

var (
	idRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	soundRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_./-]*$`)
	varRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_-]+)*$`)
)

func (p *parser) id(n *yaml.Node, what string) string {
	s, ok := p.scalar(n, what)
	if ok && !idRE.MatchString(s) {
		p.errorf(pos(n), "%s %q: use letters, digits, '_', '-' and '.'", what, s)
	}
	return s
}

// maxFileSize bounds a flow file; real flows are a few kilobytes.
const maxFileSize = 1 << 20

// unmarshal guards against a panic inside the YAML library: a bad file
// must never take the server down.
func unmarshal(data []byte, doc *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: cannot parse: %v", r)
		}
	}()
	return yaml.Unmarshal(data, doc)
}

func (p *parser) parse(data []byte) *Flow {
	if len(data) > maxFileSize {
		p.errorf(Pos{1, 1}, "file larger than %d bytes", maxFileSize)
		return nil
	}
	var doc yaml.Node
	if err := unmarshal(data, &doc); err != nil {
		p.errorf(yamlErrPos(err), "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		p.errorf(Pos{1, 1}, "empty file: want a flow with id, start and nodes")
		return nil
	}
	sum := sha256.Sum256(data)
	f := &Flow{File: p.file, Version: hex.EncodeToString(sum[:8]), Nodes: map[string]*Node{}, Pos: pos(doc.Content[0])}
	var nodesNode *yaml.Node
	for _, kv := range p.mapping(doc.Content[0], "flow") {
		switch kv.k.Value {
		case "id":
			f.ID = p.id(kv.v, "flow id")
		case "description":
		case "numbers":
			f.Numbers = p.strings(kv.v, "numbers")
		case "default":
			f.Default = p.boolean(kv.v, "default")
		case "start":
			f.Start = p.str(kv.v, "start")
		case "hours":
			f.Hours = p.calendar(kv.v)
		case "nodes":
			nodesNode = kv.v
		default:
			p.errorf(pos(kv.k), "unknown field %q (want id, description, numbers, default, start, hours, nodes)", kv.k.Value)
		}
	}
	if f.ID == "" {
		p.errorf(f.Pos, "missing flow id")
	}
	if nodesNode == nil {
		p.errorf(f.Pos, "missing nodes")
		return f
	}
	for _, kv := range p.mapping(nodesNode, "nodes") {
		id := kv.k.Value
		p.node = id
		if !idRE.MatchString(id) {
			p.errorf(pos(kv.k), "bad node id: use letters, digits, '_', '-' and '.'")
		}
		if nd := p.parseNode(id, kv.k, kv.v); nd != nil {
			f.Nodes[id] = nd
		}
		p.node = ""
	}
	if f.Start == "" {
		p.errorf(f.Pos, "missing start node")
	}
	return f
}

// yamlErrPos pulls "line N" out of a yaml.v3 error message.
func yamlErrPos(err error) Pos {
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		rest := msg[i+5:]
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		if n, e := strconv.Atoi(rest[:j]); e == nil {
			return Pos{n, 1}
		}
	}
	return Pos{1, 1}
}

var nodeTypes = func() map[string]NodeType {
	m := map[string]NodeType{}
	for t := NodePlay; t <= NodeReturn; t++ {
		m[t.String()] = t
	}
	return m
}()

// fields lists the fields each node type accepts (besides type and description).
var fields = map[NodeType][]string{
	NodePlay:      {"prompts", "interruptible", "next"},
	NodeMenu:      {"prompts", "interruptible", "options", "timeout", "retries", "invalid_prompts", "timeout_prompts", "on_fail"},
	NodeCollect:   {"prompts", "interruptible", "min_digits", "max_digits", "terminator", "first_digit_timeout", "inter_digit_timeout", "overall_timeout", "pattern", "retries", "sensitive", "var", "invalid_prompts", "timeout_prompts", "on_fail", "next"},
	NodeLookup:    {"by", "key", "next", "not_found"},
	NodeBranch:    {"cases", "else"},
	NodeSet:       {"set", "next"},
	NodeQueue:     {"prompts", "queue", "skills", "priority", "attributes", "on_wait"},
	NodeVoicemail: {"prompts", "max_duration"},
	NodeCallback:  {"prompts", "number"},
	NodeTransfer:  {"prompts", "number"},
	NodeHangup:    {"prompts"},
	NodeGoto:      {"target"},
	NodeSubflow:   {"flow", "next"},
	NodeReturn:    {},
}

func (p *parser) parseNode(id string, key, v *yaml.Node) *Node {
	kvs := p.mapping(v, "node")
	if kvs == nil {
		return nil
	}
	n := &Node{ID: id, Pos: pos(key), fieldPos: map[string]Pos{}}
	for _, kv := range kvs {
		if kv.k.Value == "type" {
			s, _ := p.scalar(kv.v, "type")
			t, ok := nodeTypes[s]
			if !ok {
				p.errorf(pos(kv.v), "unknown node type %q (want one of %s)", s, strings.Join(typeNames(), ", "))
				return nil
			}
			n.Type = t
		}
	}
	if n.Type == NodeInvalid {
		p.errorf(pos(key), "missing node type")
		return nil
	}
	allowed := fields[n.Type]
	// Defaults.
	switch n.Type {
	case NodeMenu:
		n.Interruptible, n.Timeout, n.Retries = true, 5*time.Second, 2
	case NodeCollect:
		n.Interruptible, n.Retries, n.MinDigits, n.MaxDigits = true, 2, 1, 20
		n.Terminator, n.FirstDigit, n.InterDigit = "#", 5*time.Second, 3*time.Second
	case NodeLookup:
		n.By = "caller"
	case NodeVoicemail:
		n.MaxDuration = 2 * time.Minute
	}
	for _, kv := range kvs {
		k := kv.k.Value
		if k == "type" || k == "description" {
			continue
		}
		if !slices.Contains(allowed, k) {
			p.errorf(pos(kv.k), "unknown field %q for a %s node (want %s)", k, n.Type, strings.Join(allowed, ", "))
			continue
		}
		n.fieldPos[k] = pos(kv.v)
		val := kv.v
		switch k {
		case "prompts":
			n.Prompts = p.prompts(val)
		case "invalid_prompts":
			n.InvalidPrompts = p.prompts(val)
		case "timeout_prompts":
			n.TimeoutPrompts = p.prompts(val)
		case "interruptible":
			n.Interruptible = p.boolean(val, k)
		case "next":
			n.Next = p.str(val, k)
		case "target":
			n.Next = p.str(val, k)
		case "on_fail":
			n.OnFail = p.str(val, k)
		case "else":
			n.Else = p.str(val, k)
		case "not_found":
			n.NotFound = p.str(val, k)
		case "options":
			n.Options = p.options(val)
		case "timeout":
			n.Timeout = p.duration(val, k)
		case "retries":
			n.Retries = p.integer(val, k, 0, 10)
		case "min_digits":
			n.MinDigits = p.integer(val, k, 0, 64)
		case "max_digits":
			n.MaxDigits = p.integer(val, k, 1, 64)
		case "terminator":
			s := p.str(val, k)
			if s != "" && s != "#" && s != "*" {
				p.errorf(pos(val), "terminator must be \"#\", \"*\" or \"\", not %q", s)
			}
			n.Terminator = s
		case "first_digit_timeout":
			n.FirstDigit = p.duration(val, k)
		case "inter_digit_timeout":
			n.InterDigit = p.duration(val, k)
		case "overall_timeout":
			n.Overall = p.duration(val, k)
		case "max_duration":
			n.MaxDuration = p.duration(val, k)
		case "pattern":
			n.Pattern = p.regexp(val, k)
		case "sensitive":
			n.Sensitive = p.boolean(val, k)
		case "var":
			n.Var = p.variable(val, k)
		case "by":
			n.By = p.str(val, k)
			if n.By != "caller" && n.By != "account" {
				p.errorf(pos(val), "by must be caller or account, not %q", n.By)
			}
		case "key":
			n.Key = p.template(val, k)
		case "cases":
			n.Cases = p.cases(val)
		case "set":
			n.Assign = p.assigns(val, k)
		case "attributes":
			n.Attributes = p.assigns(val, k)
		case "queue":
			n.Queue = p.template(val, k)
		case "priority":
			n.Priority = p.template(val, k)
			if !strings.Contains(n.Priority, "${") {
				p.integer(val, k, 0, 1000)
			}
		case "skills":
			n.Skills, n.SkillsVar = p.skills(val)
		case "on_wait":
			n.OnWait = p.onWait(val)
		case "number":
			n.Number = p.template(val, k)
		case "flow":
			n.Flow = p.id(val, k)
		}
	}
	if n.Type == NodeCollect && n.MinDigits > n.MaxDigits {
		p.errorf(n.posOf("min_digits"), "min_digits %d is more than max_digits %d", n.MinDigits, n.MaxDigits)
	}
	return n
}

func typeNames() []string {
	var out []string
	for t := NodePlay; t <= NodeReturn; t++ {
		out = append(out, t.String())
	}
	return out
}

func (p *parser) variable(n *yaml.Node, what string) string {
	s, ok := p.scalar(n, what)
	if ok && !varRE.MatchString(s) {
		p.errorf(pos(n), "%s: bad variable name %q", what, s)
	}
	return s
}

// template checks the ${var} references in a value.
func (p *parser) template(n *yaml.Node, what string) string {
	s, ok := p.scalar(n, what)
	if !ok {
		return ""
	}
	if err := checkTemplate(s); err != nil {
		p.errorf(pos(n), "%s: %v", what, err)
	}
	return s
}

func checkTemplate(s string) error {
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			return nil
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return fmt.Errorf("unclosed ${ in %q", s)
		}
		if name := s[i+2 : i+j]; !varRE.MatchString(name) {
			return fmt.Errorf("bad variable name %q", name)
		}
		s = s[i+j+1:]
	}
}

func (p *parser) prompts(n *yaml.Node) []Prompt {
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
	}
	var out []Prompt
	for _, it := range items {
		if it.Kind == yaml.AliasNode && it.Alias != nil {
			it = it.Alias
		}
		switch it.Kind {
		case yaml.ScalarNode:
			out = append(out, p.sound(it))
		case yaml.MappingNode:
			pr := Prompt{Pos: pos(it)}
			for _, kv := range p.mapping(it, "prompt") {
				switch kv.k.Value {
				case "sound":
					pr.Sound = p.sound(kv.v).Sound
				case "say":
					s := p.str(kv.v, "say")
					i := slices.Index(sayNames[:], s)
					if i <= 0 {
						p.errorf(pos(kv.v), "say must be digits, number, date or amount, not %q", s)
					}
					pr.Say = SayKind(max(i, 0))
				case "value":
					pr.Value = p.template(kv.v, "value")
				case "var":
					pr.Value = "${" + p.variable(kv.v, "var") + "}"
				default:
					p.errorf(pos(kv.k), "unknown field %q in a prompt (want sound, or say with value or var)", kv.k.Value)
				}
			}
			switch {
			case pr.Sound != "" && pr.Say != SayNone:
				p.errorf(pr.Pos, "a prompt is either a sound or a say, not both")
			case pr.Sound == "" && pr.Say == SayNone:
				p.errorf(pr.Pos, "a prompt needs a sound or a say")
			case pr.Say != SayNone && pr.Value == "":
				p.errorf(pr.Pos, "say %s needs a value or a var", pr.Say)
			}
			out = append(out, pr)
		default:
			p.errorf(pos(it), "a prompt must be a sound name or a mapping")
		}
	}
	return out
}

func (p *parser) sound(n *yaml.Node) Prompt {
	s, _ := p.scalar(n, "sound")
	if !soundRE.MatchString(s) || strings.Contains(s, "..") {
		p.errorf(pos(n), "bad sound name %q", s)
	}
	return Prompt{Sound: s, Pos: pos(n)}
}

func (p *parser) options(n *yaml.Node) []Option {
	if n.Kind != yaml.MappingNode {
		p.errorf(pos(n), "options must be a mapping of keys to nodes")
		return nil
	}
	var out []Option
	seen := map[string]Pos{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		if len(key) != 1 || !strings.Contains("0123456789*#", key) {
			p.errorf(pos(k), "menu key %q: want one of 0-9, * or #", key)
			continue
		}
		if first, dup := seen[key]; dup {
			p.errorf(pos(k), "key %s used twice in one menu (first at line %d)", key, first.Line)
			continue
		}
		seen[key] = pos(k)
		if t, ok := p.scalar(v, "option target"); ok {
			out = append(out, Option{Key: key, Target: t, Pos: pos(v)})
		}
	}
	return out
}

func (p *parser) assigns(n *yaml.Node, what string) []Assign {
	var out []Assign
	for _, kv := range p.mapping(n, what) {
		name := kv.k.Value
		if !varRE.MatchString(name) {
			p.errorf(pos(kv.k), "%s: bad variable name %q", what, name)
		}
		if reservedVar(name) {
			p.errorf(pos(kv.k), "%s: %q is set by the system", what, name)
		}
		out = append(out, Assign{Name: name, Value: p.template(kv.v, name), Pos: pos(kv.v)})
	}
	return out
}

func reservedVar(name string) bool {
	return name == "caller.number" || name == "dialed" || strings.HasPrefix(name, "time.")
}

func (p *parser) skills(n *yaml.Node) ([]SkillReq, string) {
	if n.Kind == yaml.ScalarNode {
		return nil, p.template(n, "skills")
	}
	var out []SkillReq
	for _, kv := range p.mapping(n, "skills") {
		if !idRE.MatchString(kv.k.Value) {
			p.errorf(pos(kv.k), "bad skill name %q", kv.k.Value)
		}
		out = append(out, SkillReq{Name: kv.k.Value, Min: p.integer(kv.v, "skill proficiency", 0, 100)})
	}
	return out, ""
}

func (p *parser) onWait(n *yaml.Node) *WaitHook {
	h := &WaitHook{}
	for _, kv := range p.mapping(n, "on_wait") {
		switch kv.k.Value {
		case "after":
			h.After = p.duration(kv.v, "after")
		case "flow":
			h.Flow = p.id(kv.v, "flow")
		default:
			p.errorf(pos(kv.k), "unknown field %q in on_wait (want after, flow)", kv.k.Value)
		}
	}
	if h.After == 0 || h.Flow == "" {
		p.errorf(pos(n), "on_wait needs after and flow")
	}
	return h
}

func (p *parser) cases(n *yaml.Node) []Case {
	if n.Kind != yaml.SequenceNode {
		p.errorf(pos(n), "cases must be a list")
		return nil
	}
	var out []Case
	for _, it := range n.Content {
		c := Case{Pos: pos(it)}
		for _, kv := range p.mapping(it, "case") {
			switch kv.k.Value {
			case "when":
				c.When = p.cond(kv.v)
			case "goto":
				c.Goto = p.str(kv.v, "goto")
			default:
				p.errorf(pos(kv.k), "unknown field %q in a case (want when, goto)", kv.k.Value)
			}
		}
		if c.Goto == "" {
			p.errorf(c.Pos, "case without goto")
		}
		out = append(out, c)
	}
	return out
}

var weekdayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func (p *parser) cond(n *yaml.Node) Cond {
	var c Cond
	var varTests int
	for _, kv := range p.mapping(n, "when") {
		v := kv.v
		b := func() *bool { x := p.boolean(v, kv.k.Value); return &x }
		switch kv.k.Value {
		case "var":
			c.Var = p.variable(v, "var")
		case "eq":
			s := p.str(v, "eq")
			c.Eq = &s
			varTests++
		case "ne":
			s := p.str(v, "ne")
			c.Ne = &s
			varTests++
		case "in":
			c.In = p.strings(v, "in")
			varTests++
		case "matches":
			c.Matches = p.regexp(v, "matches")
			varTests++
		case "set":
			c.IsSet = b()
			varTests++
		case "open":
			c.Open = b()
		case "holiday":
			c.Holiday = b()
		case "weekday":
			for _, d := range p.strings(v, "weekday") {
				days, ok := parseDays(d)
				if !ok {
					p.errorf(pos(v), "bad weekday %q (want sun..sat or a range like mon-fri)", d)
				}
				c.Weekdays = append(c.Weekdays, days...)
			}
		case "time":
			s := p.str(v, "time")
			r, ok := parseRange(s)
			if !ok {
				p.errorf(pos(v), "bad time range %q (want HH:MM-HH:MM)", s)
			}
			c.Between = &r
		default:
			p.errorf(pos(kv.k), "unknown test %q (want var with eq, ne, in, matches or set; open; holiday; weekday; time)", kv.k.Value)
		}
	}
	if c.Var != "" && varTests == 0 {
		p.errorf(pos(n), "var %q needs a test: eq, ne, in, matches or set", c.Var)
	}
	if c.Var == "" && varTests > 0 {
		p.errorf(pos(n), "eq, ne, in, matches and set need a var")
	}
	return c
}

func parseDays(s string) ([]time.Weekday, bool) {
	from, to, isRange := strings.Cut(s, "-")
	a := slices.Index(weekdayNames, from)
	if !isRange {
		return []time.Weekday{time.Weekday(a)}, a >= 0
	}
	b := slices.Index(weekdayNames, to)
	if a < 0 || b < 0 || b < a {
		return nil, false
	}
	var out []time.Weekday
	for d := a; d <= b; d++ {
		out = append(out, time.Weekday(d))
	}
	return out, true
}

func parseClock(s string) (int, bool) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) != 2 || len(m) != 2 {
		return 0, false
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 || (hh == 24 && mm != 0) {
		return 0, false
	}
	return hh*60 + mm, true
}

func parseRange(s string) (TimeRange, bool) {
	a, b, ok := strings.Cut(strings.ReplaceAll(s, " ", ""), "-")
	if !ok {
		return TimeRange{}, false
	}
	from, ok1 := parseClock(a)
	to, ok2 := parseClock(b)
	if !ok1 || !ok2 || to <= from {
		return TimeRange{}, false
	}
	return TimeRange{From: from, To: to}, true
}

func (p *parser) calendar(n *yaml.Node) *Calendar {
	c := &Calendar{Location: time.UTC, Holidays: map[string]bool{}}
	for _, kv := range p.mapping(n, "hours") {
		switch kv.k.Value {
		case "timezone":
			name := p.str(kv.v, "timezone")
			loc, err := p.cfg.loadLocation(name)
			if err != nil || name == "" {
				p.errorf(pos(kv.v), "bad time zone %q", name)
				continue
			}
			c.Location = loc
		case "weekly":
			for _, d := range p.mapping(kv.v, "weekly") {
				days, ok := parseDays(d.k.Value)
				if !ok {
					p.errorf(pos(d.k), "bad weekday %q (want sun..sat or a range like mon-fri)", d.k.Value)
					continue
				}
				for _, s := range p.strings(d.v, "hours") {
					r, ok := parseRange(s)
					if !ok {
						p.errorf(pos(d.v), "bad opening hours %q (want HH:MM-HH:MM)", s)
						continue
					}
					for _, day := range days {
						c.Weekly[day] = append(c.Weekly[day], r)
					}
				}
			}
		case "holidays":
			if kv.v.Kind != yaml.SequenceNode {
				p.errorf(pos(kv.v), "holidays must be a list of dates")
				continue
			}
			for _, d := range kv.v.Content {
				s, _ := p.scalar(d, "holiday")
				if _, err := time.Parse(time.DateOnly, s); err != nil {
					p.errorf(pos(d), "bad holiday date %q (want YYYY-MM-DD)", s)
					continue
				}
				c.Holidays[s] = true
			}
		default:
			p.errorf(pos(kv.k), "unknown field %q in hours (want timezone, weekly, holidays)", kv.k.Value)
		}
	}
	return c
}
