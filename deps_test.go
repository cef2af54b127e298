package switchboard_test

// The dependency rules of the architecture (docs/architecture.md), checked with `go list -deps` so they cannot drift.

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/switchboard-cc/switchboard"

type pkg struct {
	ImportPath string
	Dir        string
	Standard   bool
	Imports    []string // direct
	Deps       []string // transitive
	GoFiles    []string
}

// A rule limits what one package may depend on. allow lists the non-standard packages it may import directly (prefixes outside the
// module, exact packages inside it); forbid lists packages it may not reach even indirectly; and no adapter may reach another.
type rule struct {
	pkg     string   // import path relative to the module ("" for none)
	allow   []string // allowed non-standard dependencies, as prefixes
	forbid  []string // forbidden dependencies (standard library included), as prefixes
	noClock bool     // may not read the wall clock or sleep: time comes in as an argument
}

var (
	ioStd   = []string{"net", "database/sql", "os/exec", "crypto/tls"}
	adapter = []string{"cti/asterisk", "cti/arisim", "cti/webrtcgw", "cti/recdir", "cti/webhook", "crmstore", "agent-ui"}
)

func rules() []rule {
	return []rule{
		{pkg: "cti", allow: nil, forbid: ioStd, noClock: true},
		{pkg: "queue", allow: []string{"github.com/expr-lang/expr"}, forbid: ioStd, noClock: true},
		{pkg: "ivr", allow: []string{"gopkg.in/yaml.v3"}, forbid: append([]string{"os/exec"}, ioStd[:2]...), noClock: true},
		{pkg: "cti/engine", allow: []string{"cti", "queue", "ivr"}, forbid: ioStd},
		{pkg: "cti/asterisk", allow: []string{"cti", "github.com/CyCoreSystems/ari/", "github.com/gorilla/websocket"}},
		{pkg: "cti/arisim", allow: []string{"github.com/gorilla/websocket"}},
		{pkg: "cti/recdir", allow: []string{"cti", "golang.org/x/sys/"}},
		{pkg: "cti/webhook", allow: []string{"cti"}},
		{pkg: "cti/webrtcgw/browsersim", allow: []string{"github.com/pion/"}},
		{pkg: "cti/webrtcgw", allow: []string{"cti", "github.com/pion/", "github.com/gorilla/websocket"}},
		{pkg: "crmstore", allow: []string{"cti", "github.com/jackc/", "github.com/nyaruka/phonenumbers", "github.com/google/uuid", "golang.org/x/"}},
		{pkg: "agent-ui/uitest", allow: []string{"github.com/chromedp/"}},
		{pkg: "agent-ui", allow: []string{"cti", "github.com/gorilla/websocket", "golang.org/x/", "github.com/prometheus/"}},
	}
}

// violations returns every broken rule, one line each, sorted.
func violations(pkgs []pkg, rules []rule) []string {
	var out []string
	for _, p := range pkgs {
		rel, ok := strings.CutPrefix(p.ImportPath, module+"/")
		if !ok {
			continue
		}
		for _, r := range rules {
			if rel != r.pkg && !strings.HasPrefix(rel, r.pkg+"/") {
				continue
			}
			if rel != r.pkg && isOwnRule(rules, rel) {
				continue // a subpackage with a rule of its own (cti/engine under cti)
			}
			for _, d := range p.Imports {
				if reason := breaks(d, r, isStandard(d)); reason != "" {
					out = append(out, rel+" imports "+d+": "+reason)
				}
			}
			for _, d := range p.Deps {
				if reason := reaches(d, r); reason != "" && !slices.Contains(p.Imports, d) {
					out = append(out, rel+" depends on "+d+": "+reason)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

func isOwnRule(rules []rule, rel string) bool {
	for _, r := range rules {
		if r.pkg == rel {
			return true
		}
	}
	return false
}

func isStandard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// reaches reports a forbidden indirect dependency.
func reaches(dep string, r rule) string {
	for _, f := range r.forbid {
		if dep == f || strings.HasPrefix(dep, f+"/") {
			return "forbidden (I/O in a pure package)"
		}
	}
	if rel, ok := strings.CutPrefix(dep, module+"/"); ok && !(rel == r.pkg || strings.HasPrefix(rel, r.pkg+"/")) && isAdapter(rel) && isAdapter(r.pkg) {
		return "adapters never import each other"
	}
	return ""
}

func isAdapter(rel string) bool {
	return slices.ContainsFunc(adapter, func(a string) bool { return rel == a || strings.HasPrefix(rel, a+"/") })
}

// breaks reports a forbidden direct import.
func breaks(dep string, r rule, std bool) string {
	if reason := reaches(dep, r); reason != "" {
		return reason
	}
	if std {
		return ""
	}
	if rel, ok := strings.CutPrefix(dep, module+"/"); ok {
		// Inside the module a listed package is allowed exactly: allowing cti must not allow cti/asterisk.
		switch {
		case rel == r.pkg || strings.HasPrefix(rel, r.pkg+"/"):
			return ""
		case slices.Contains(r.allow, rel):
			return ""
		case isAdapter(rel):
			return "adapters never import each other"
		}
		return "not an allowed dependency"
	}
	for _, a := range r.allow {
		if dep == a || strings.HasPrefix(dep, a) && (strings.HasSuffix(a, "/") || strings.HasPrefix(dep, a+"/")) {
			return ""
		}
	}
	return "not an allowed dependency"
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-e", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestDependencyRules(t *testing.T) {
	for _, v := range violations(listPackages(t), rules()) {
		t.Error(v)
	}
}

// The rules must catch a broken dependency: a pure package reaching the network or pgx, an adapter importing another.
func TestDependencyRulesCatchViolations(t *testing.T) {
	pkgs := []pkg{
		{ImportPath: module + "/queue", Imports: []string{"sort", "encoding/json"}, Deps: []string{"sort", "encoding/json", "net/http"}},
		{ImportPath: module + "/cti", Imports: []string{"github.com/jackc/pgx/v5"}, Deps: []string{"github.com/jackc/pgx/v5"}},
		{ImportPath: module + "/agent-ui", Imports: []string{module + "/cti", "github.com/gorilla/websocket"}, Deps: []string{module + "/cti", "github.com/gorilla/websocket", module + "/crmstore"}},
		{ImportPath: module + "/cti/engine", Imports: []string{module + "/cti/asterisk", module + "/ivr"}, Deps: []string{module + "/cti/asterisk", module + "/ivr", "gopkg.in/yaml.v3"}},
		{ImportPath: module + "/ivr", Imports: []string{"gopkg.in/yaml.v3", "strings"}, Deps: []string{"gopkg.in/yaml.v3", "strings"}},
	}
	got := violations(pkgs, rules())
	want := []string{
		"agent-ui depends on " + module + "/crmstore: adapters never import each other",
		"cti imports github.com/jackc/pgx/v5: not an allowed dependency",
		"cti/engine imports " + module + "/cti/asterisk: adapters never import each other",
		"queue depends on net/http: forbidden (I/O in a pure package)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Pure packages take time as an argument: no wall clock, no sleeping, no timers.
var clockFuncs = map[string]bool{"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true, "Tick": true, "NewTimer": true, "NewTicker": true, "AfterFunc": true}

func clockCalls(t *testing.T, dir string, files []string) []string {
	t.Helper()
	var out []string
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		timeName := ""
		for _, imp := range f.Imports {
			if imp.Path.Value == `"time"` {
				timeName = "time"
				if imp.Name != nil {
					timeName = imp.Name.Name
				}
			}
		}
		if timeName == "" {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == timeName && clockFuncs[sel.Sel.Name] {
					out = append(out, fset.Position(sel.Pos()).String()+": time."+sel.Sel.Name)
				}
			}
			return true
		})
	}
	return out
}

func TestPurePackagesReadNoClock(t *testing.T) {
	for _, p := range listPackages(t) {
		rel := strings.TrimPrefix(p.ImportPath, module+"/")
		for _, r := range rules() {
			if r.noClock && (rel == r.pkg || strings.HasPrefix(rel, r.pkg+"/") && !isOwnRule(rules(), rel)) {
				for _, c := range clockCalls(t, p.Dir, p.GoFiles) {
					t.Errorf("%s: a pure package must take time as an argument", c)
				}
			}
		}
	}
}
