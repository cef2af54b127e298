package ivr

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
)

// Set is an immutable snapshot of loaded flows: by id and by dialed number.
// A reload builds a new Set; sessions running under the old one go on by
// flow and node id (see ResumeSession).
type Set struct {
	flows    map[string]*Flow
	byNumber map[string]*Flow
	def      *Flow
}

var _ Flows = (*Set)(nil)

// NewSet checks flows against each other (unique ids and numbers, one
// default, existing sub-flows and wait flows) and builds a Set.
func NewSet(flows ...*Flow) (*Set, error) {
	s := &Set{flows: map[string]*Flow{}, byNumber: map[string]*Flow{}}
	var errs ErrorList
	errorf := func(f *Flow, node string, at Pos, format string, args ...any) {
		errs = append(errs, &Error{File: f.File, Pos: at, Node: node, Msg: fmt.Sprintf(format, args...)})
	}
	for _, f := range flows {
		if other, dup := s.flows[f.ID]; dup {
			errorf(f, "", f.Pos, "flow id %q is also used by %s", f.ID, other.File)
			continue
		}
		s.flows[f.ID] = f
		if f.Default {
			if s.def != nil {
				errorf(f, "", f.Pos, "flow %q is default, but so is %q (%s)", f.ID, s.def.ID, s.def.File)
			} else {
				s.def = f
			}
		}
		for _, num := range f.Numbers {
			key := normalizeNumber(num)
			if other, dup := s.byNumber[key]; dup {
				errorf(f, "", f.Pos, "number %s is also bound to flow %q (%s)", num, other.ID, other.File)
				continue
			}
			s.byNumber[key] = f
		}
	}
	for _, f := range flows {
		for _, id := range sortedKeys(f.Nodes) {
			n := f.Nodes[id]
			if n.Type == NodeSubflow && n.Flow != "" && s.flows[n.Flow] == nil {
				errorf(f, id, n.posOf("flow"), "sub-flow %q does not exist", n.Flow)
			}
			if n.OnWait != nil && n.OnWait.Flow != "" && s.flows[n.OnWait.Flow] == nil {
				errorf(f, id, n.posOf("on_wait"), "on_wait flow %q does not exist", n.OnWait.Flow)
			}
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return s, nil
}

// normalizeNumber drops the punctuation people put into phone numbers.
func normalizeNumber(n string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(" -().", r) {
			return -1
		}
		return r
	}, n)
}

// Flow returns the flow with the given id, or nil.
func (s *Set) Flow(id string) *Flow {
	if s == nil {
		return nil
	}
	return s.flows[id]
}

// ForNumber returns the flow bound to a dialed number, else the default
// flow, else nil.
func (s *Set) ForNumber(dialed string) *Flow {
	if s == nil {
		return nil
	}
	if f, ok := s.byNumber[normalizeNumber(dialed)]; ok {
		return f
	}
	return s.def
}

// Flows returns every flow, sorted by id.
func (s *Set) Flows() []*Flow {
	var out []*Flow
	for _, id := range sortedKeys(s.flows) {
		out = append(out, s.flows[id])
	}
	return out
}

func IsFlowFile(name string) bool {
	return strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")
}

// Load parses and validates every *.yaml and *.yml file at the top of fsys
// and builds a Set. On any problem it returns nil and an ErrorList of all
// of them, so a bad edit never replaces a running Set.
func Load(fsys fs.FS, cfg Config) (*Set, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	var flows []*Flow
	var errs ErrorList
	for _, e := range entries {
		if e.IsDir() || !IsFlowFile(e.Name()) {
			continue
		}
		data, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			errs = append(errs, &Error{File: e.Name(), Msg: err.Error()})
			continue
		}
		f, err := Parse(e.Name(), data, cfg)
		var list ErrorList
		if errors.As(err, &list) {
			errs = append(errs, list...)
			continue
		}
		flows = append(flows, f)
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	if len(flows) == 0 {
		return nil, ErrorList{{File: ".", Msg: "no flow files (*.yaml)"}}
	}
	return NewSet(flows...)
}

// LoadDir is Load on a directory; errors name files by their path in dir.
func LoadDir(dir string, cfg Config) (*Set, error) {
	s, err := Load(os.DirFS(dir), cfg)
	var list ErrorList
	if errors.As(err, &list) {
		for _, e := range list {
			e.File = path.Join(dir, e.File)
		}
	}
	return s, err
}
