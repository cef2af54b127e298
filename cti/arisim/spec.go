package arisim

//go:generate go run ./internal/specgen -spec ../../../shared/ari/spec -out spec_gen.go

// specOperation is one REST operation of Asterisk's ARI description.
type specOperation struct {
	ID            string // resource.nickname, e.g. channels.play
	Method        string
	Path          string // e.g. /channels/{channelId}/play
	ResponseClass string
	Upgrade       bool // the events websocket
	Errors        []int
	Params        []specParam
}

// specParam is one parameter of an operation.
type specParam struct {
	Name     string
	In       string // path, query, body
	Required bool
	Multiple bool
	Type     string // string, int, long, boolean, object, containers
	Default  string
	Enum     []string
	Min, Max *float64
}

// specModel is one model of the spec, used to check emitted JSON in tests.
type specModel struct {
	SubTypes []string
	Props    map[string]specProp
}

type specProp struct {
	Type     string
	Required bool
	Enum     []string
	Min, Max *float64
}

func ptr(f float64) *float64 { return &f }
