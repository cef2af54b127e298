package ivr

import (
	"fmt"
	"slices"
	"strings"
)

// edge is a transition from one node to another.
type edge struct {
	to    string
	field string // the YAML field naming the target, for errors
	// input is true when taking the edge needs the caller to press keys.
	input bool
}

// edges lists the node's transitions in a fixed order.
func (n *Node) edges() []edge {
	var out []edge
	add := func(to, field string, input bool) {
		if to != "" {
			out = append(out, edge{to, field, input})
		}
	}
	switch n.Type {
	case NodeMenu:
		for _, o := range n.Options {
			add(o.Target, "options", true)
		}
		// A silent caller reaches on_fail through timeouts alone.
		add(n.OnFail, "on_fail", false)
	case NodeCollect:
		add(n.Next, "next", true)
		add(n.OnFail, "on_fail", false)
	case NodeLookup:
		add(n.Next, "next", false)
		add(n.NotFound, "not_found", false)
	case NodeBranch:
		for _, c := range n.Cases {
			add(c.Goto, "cases", false)
		}
		add(n.Else, "else", false)
	case NodeGoto:
		add(n.Next, "target", false)
	default:
		add(n.Next, "next", false)
	}
	return out
}

// validate checks a parsed flow on its own.
func validate(f *Flow, cat PromptCatalogue) ErrorList {
	var errs ErrorList
	errorf := func(node string, at Pos, format string, args ...any) {
		errs = append(errs, &Error{File: f.File, Pos: at, Node: node, Msg: fmt.Sprintf(format, args...)})
	}
	if _, ok := f.Nodes[f.Start]; !ok && f.Start != "" {
		errorf("", f.Pos, "start node %q does not exist", f.Start)
	}
	ids := sortedKeys(f.Nodes)
	for _, id := range ids {
		n := f.Nodes[id]
		need := func(field, val string) {
			if val == "" {
				errorf(id, n.Pos, "a %s node needs %s", n.Type, field)
			}
		}
		switch n.Type {
		case NodePlay:
			need("next", n.Next)
			if len(n.Prompts) == 0 {
				errorf(id, n.Pos, "a play node needs prompts")
			}
		case NodeMenu:
			if len(n.Options) == 0 {
				errorf(id, n.Pos, "a menu node needs options")
			}
			if len(n.Prompts) == 0 {
				errorf(id, n.Pos, "a menu node needs prompts")
			}
		case NodeCollect:
			need("next", n.Next)
		case NodeLookup, NodeSet:
			need("next", n.Next)
			if n.Type == NodeSet && len(n.Assign) == 0 {
				errorf(id, n.Pos, "a set node needs set")
			}
		case NodeBranch:
			need("else", n.Else)
			if len(n.Cases) == 0 {
				errorf(id, n.Pos, "a branch node needs cases")
			}
			for _, c := range n.Cases {
				if (c.When.Open != nil || c.When.Holiday != nil) && f.Hours == nil {
					errorf(id, c.Pos, "open and holiday tests need the flow's hours")
				}
			}
		case NodeTransfer:
			need("number", n.Number)
		case NodeGoto:
			need("target", n.Next)
		case NodeSubflow:
			need("flow", n.Flow)
			need("next", n.Next)
		}
		for _, e := range n.edges() {
			if _, ok := f.Nodes[e.to]; !ok {
				errorf(id, n.posOf(e.field), "%s: node %q does not exist", e.field, e.to)
			}
		}
		if cat != nil {
			for _, list := range [][]Prompt{n.Prompts, n.InvalidPrompts, n.TimeoutPrompts} {
				for _, p := range list {
					if missing := cat.missing(p); len(missing) > 0 {
						at := p.Pos
						if at.Line == 0 {
							at = n.Pos
						}
						errorf(id, at, "prompt %s not in the prompt catalogue", strings.Join(missing, ", "))
					}
				}
			}
		}
	}
	// A say prompt must not read a sensitive input aloud.
	sensitive := map[string]bool{}
	for _, n := range f.Nodes {
		if n.Type == NodeCollect && n.Sensitive {
			sensitive[orElse(n.Var, "input."+n.ID)] = true
		}
	}
	for _, id := range ids {
		for _, p := range f.Nodes[id].Prompts {
			for name := range sensitive {
				if p.Say != SayNone && strings.Contains(p.Value, "${"+name+"}") {
					errorf(id, p.Pos, "say would read the sensitive input %s aloud", name)
				}
			}
		}
	}
	if _, ok := f.Nodes[f.Start]; !ok {
		return errs
	}
	// Unreachable nodes.
	seen := map[string]bool{f.Start: true}
	work := []string{f.Start}
	for len(work) > 0 {
		n := f.Nodes[work[0]]
		work = work[1:]
		for _, e := range n.edges() {
			if _, ok := f.Nodes[e.to]; ok && !seen[e.to] {
				seen[e.to] = true
				work = append(work, e.to)
			}
		}
	}
	for _, id := range ids {
		if !seen[id] {
			errorf(id, f.Nodes[id].Pos, "unreachable from start node %q", f.Start)
		}
	}
	// Loops that can spin without caller input.
	for _, cycle := range inputFreeCycles(f) {
		first := f.Nodes[cycle[0]]
		errorf(cycle[0], first.Pos, "loop without caller input: %s -> %s", strings.Join(cycle, " -> "), cycle[0])
	}
	return errs
}

// inputFreeCycles finds the strongly connected components of the graph of
// edges taken without caller input that contain a cycle, each as a list of
// node ids starting at the smallest id, following edges.
func inputFreeCycles(f *Flow) [][]string {
	ids := sortedKeys(f.Nodes)
	succ := func(id string) []string {
		var out []string
		for _, e := range f.Nodes[id].edges() {
			if _, ok := f.Nodes[e.to]; ok && !e.input {
				out = append(out, e.to)
			}
		}
		return out
	}
	// Tarjan's algorithm, iterative in spirit but recursion depth is bounded
	// by the number of nodes in one file.
	index := map[string]int{}
	low := map[string]int{}
	onStack := map[string]bool{}
	var stack []string
	var sccs [][]string
	next := 0
	var strong func(v string)
	strong = func(v string) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		for _, w := range succ(v) {
			if _, ok := index[w]; !ok {
				strong(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var comp []string
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				comp = append(comp, w)
				if w == v {
					break
				}
			}
			if len(comp) > 1 || slices.Contains(succ(v), v) {
				sccs = append(sccs, comp)
			}
		}
	}
	for _, id := range ids {
		if _, ok := index[id]; !ok {
			strong(id)
		}
	}
	var out [][]string
	for _, comp := range sccs {
		in := map[string]bool{}
		for _, id := range comp {
			in[id] = true
		}
		slices.Sort(comp)
		// Walk one cycle from the smallest id inside the component.
		path := []string{comp[0]}
		at := comp[0]
		visited := map[string]bool{at: true}
		for {
			var step string
			for _, w := range succ(at) {
				if in[w] {
					step = w
					break
				}
			}
			if step == "" || step == comp[0] || visited[step] {
				break
			}
			visited[step] = true
			path = append(path, step)
			at = step
		}
		out = append(out, path)
	}
	slices.SortFunc(out, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
