package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// envPrefix starts the environment variable of every flag: --feed-secret
// is ORIGIN_FEED_SECRET.
const envPrefix = "ORIGIN_"

// envName returns the environment variable that sets flag name.
func envName(name string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// newFlagSet returns a flag set that reports errors instead of exiting and
// prints its usage to stderr.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: origin %s\n\nflags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// bindEnv documents, in each named flag's usage, the environment variable
// that sets it ("all" binds every flag of fs). Call it after defining the
// flags and before parsing; call applyEnv after parsing.
func bindEnv(fs *flag.FlagSet, names ...string) {
	bind := func(f *flag.Flag) { f.Usage += " (env " + envName(f.Name) + ")" }
	if len(names) == 1 && names[0] == "all" {
		fs.VisitAll(bind)
		return
	}
	for _, n := range names {
		if f := fs.Lookup(n); f != nil {
			bind(f)
		}
	}
}

// applyEnv sets every env-bound flag that the command line did not set
// from its environment variable, read with lookup. A command-line flag
// wins over the environment, which wins over the default.
func applyEnv(fs *flag.FlagSet, lookup func(string) (string, bool)) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || given[f.Name] || !strings.Contains(f.Usage, "(env "+envName(f.Name)+")") {
			return
		}
		if v, ok := lookup(envName(f.Name)); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("environment %s=%q: %w", envName(f.Name), v, e)
			}
		}
	})
	return err
}

// isSet reports whether the command line or the environment set flag name
// (after applyEnv, which marks what it sets).
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// parseArgs parses args, allowing flags after the positional arguments
// ("origin tail URL --token T"), and returns the positional arguments. Its
// errors are errHelp for -h and errUsage otherwise; the flag package has
// printed the usage.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		} else if err != nil {
			return nil, errUsage
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// listFlag is a repeatable flag; each use adds one value.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

// Set implements flag.Value.
func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// splitCommas splits every value on commas, for lists whose items never
// hold one (origins), so that "--cors-origins a,b" and
// ORIGIN_CORS_ORIGINS=a,b work like two uses of the flag.
func (l *listFlag) splitCommas() {
	var out []string
	for _, v := range *l {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	*l = out
}
