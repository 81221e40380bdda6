package boundedre

import (
	"fmt"
	"regexp/syntax"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// dfa is a deterministic automaton built ahead of time from a compiled
// program, for anchored expressions: it reads each rune of the input once
// with a table lookup, so a match costs the input's length whatever the
// size of the program. The RE2 engines behind regexp instead run every live
// instruction at every position, which a crafted template makes the whole
// program.
//
// Runes are mapped to classes: runes every instruction treats alike share
// one. States are the sets of instructions waiting for the next rune.
type dfa struct {
	ascii   [utf8.RuneSelf]int32
	bounds  []rune  // starts of the intervals of runes at or above RuneSelf
	classes []int32 // class of each interval
	nclass  int
	// next[s*nclass+k] is the state after class k in state s, or dead;
	// byByte[s<<7|c] is the state after the ASCII byte c, which spares the
	// class lookup for the bytes most topics are made of.
	next   []int16
	byByte []int16
	// accept[s]: a match ends at the end of the input in state s; matched[s]:
	// a match already ended (the expression has no "$").
	accept, matched []bool
}

const dead = -1

// dfaEntryBytes is the size of a table entry.
const dfaEntryBytes = 2

// maxDFAStates bounds the states of an automaton; an expression that needs
// more is matched by regexp, and costed as such.
const maxDFAStates = 512

// maxDFAWork bounds the instructions visited to build an automaton, so that
// compiling a selector stays cheap whatever it is.
const maxDFAWork = 1 << 22

// newDFA builds the automaton of prog, or returns nil when the program is
// not anchored at the start of the text, uses an empty-width assertion
// other than the start and end of the text, or needs more than
// maxDFAStates states or tables of more than maxBytes.
func newDFA(prog *syntax.Prog, maxBytes int) *dfa {
	if prog.StartCond()&syntax.EmptyBeginText == 0 {
		return nil
	}
	// Rune instructions that test the same runes are told apart by no rune.
	var runeInsts []int
	distinct := make(map[string]bool)
	for pc, in := range prog.Inst {
		switch in.Op {
		case syntax.InstEmptyWidth:
			if syntax.EmptyOp(in.Arg)&^(syntax.EmptyBeginText|syntax.EmptyEndText) != 0 {
				return nil
			}
		case syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
			k := fmt.Sprint(in.Op, in.Arg&uint32(syntax.FoldCase), in.Rune)
			if !distinct[k] {
				distinct[k] = true
				runeInsts = append(runeInsts, pc)
			}
		}
	}
	d := &dfa{}
	reps := d.buildClasses(prog, runeInsts)
	b := &dfaBuilder{prog: prog, d: d, reps: reps, index: make(map[string]int32), mark: make([]uint32, len(prog.Inst))}
	start := b.closure([]uint32{uint32(prog.Start)}, true)
	b.add(start, true)
	for s := 0; s < len(b.states); s++ {
		for k := range d.nclass {
			var step []uint32
			for _, pc := range b.states[s] {
				in := &prog.Inst[pc]
				if consumes(in, reps[k]) {
					step = append(step, in.Out)
				}
			}
			next := int32(dead)
			if len(step) > 0 {
				set := b.closure(step, false)
				if len(set) > 0 {
					var ok bool
					if next, ok = b.index[key(set)]; !ok {
						next = b.add(set, false)
					}
				}
			}
			d.next = append(d.next, int16(next))
		}
		if len(b.states) > maxDFAStates || d.size(len(b.states)) > maxBytes || b.work > maxDFAWork {
			return nil
		}
	}
	// A state where a match already ended stays there: the answer is known.
	for s := range b.states {
		if d.matched[s] {
			for k := range d.nclass {
				d.next[s*d.nclass+k] = int16(s)
			}
		}
	}
	d.byByte = make([]int16, len(b.states)<<7)
	for s := range b.states {
		for c := range utf8.RuneSelf {
			d.byByte[s<<7|c] = d.next[s*d.nclass+int(d.ascii[c])]
		}
	}
	return d
}

// buildClasses maps every rune to a class, and returns a representative
// rune of each class. Runes between consecutive boundaries (the ends of
// every instruction's ranges and the case variants of case-folded runes)
// are treated alike by every instruction; intervals that every
// instruction treats alike share a class.
func (d *dfa) buildClasses(prog *syntax.Prog, runeInsts []int) []rune {
	cuts := []rune{0, utf8.RuneSelf, '\n', '\n' + 1, utf8.RuneError, utf8.RuneError + 1}
	for _, pc := range runeInsts {
		in := &prog.Inst[pc]
		for i := 0; i+1 < len(in.Rune); i += 2 {
			cuts = append(cuts, in.Rune[i], in.Rune[i+1]+1)
		}
		if len(in.Rune) == 1 {
			r := in.Rune[0]
			cuts = append(cuts, r, r+1)
			if syntax.Flags(in.Arg)&syntax.FoldCase != 0 {
				for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
					cuts = append(cuts, f, f+1)
				}
			}
		}
	}
	slices.Sort(cuts)
	cuts = slices.Compact(cuts)
	sigs := make(map[string]int32)
	var reps []rune
	classOf := func(r rune) int32 {
		var sig strings.Builder
		for _, pc := range runeInsts {
			if consumes(&prog.Inst[pc], r) {
				sig.WriteByte('1')
			} else {
				sig.WriteByte('0')
			}
		}
		k, ok := sigs[sig.String()]
		if !ok {
			k = int32(len(reps))
			sigs[sig.String()] = k
			reps = append(reps, r)
		}
		return k
	}
	for r := rune(0); r < utf8.RuneSelf; r++ {
		d.ascii[r] = classOf(r)
	}
	for _, c := range cuts {
		if c >= utf8.RuneSelf && c <= unicode.MaxRune {
			d.bounds = append(d.bounds, c)
			d.classes = append(d.classes, classOf(c))
		}
	}
	d.nclass = len(reps)
	return reps
}

// dfaBuilder holds the states found so far.
type dfaBuilder struct {
	prog   *syntax.Prog
	d      *dfa
	reps   []rune
	states [][]uint32
	index  map[string]int32
	// mark[pc] == gen marks the instructions visited by the current walk;
	// work counts the visits of every walk.
	mark []uint32
	gen  uint32
	work int
}

// visit reports whether pc is visited for the first time in this walk.
func (b *dfaBuilder) visit(pc uint32) bool {
	if b.mark[pc] == b.gen {
		return false
	}
	b.mark[pc] = b.gen
	b.work++
	return true
}

// add appends the state set; the start state is never shared with another,
// since only there does "^" hold.
func (b *dfaBuilder) add(set []uint32, start bool) int32 {
	s := int32(len(b.states))
	b.states = append(b.states, set)
	if !start {
		b.index[key(set)] = s
	}
	b.d.accept = append(b.d.accept, b.reaches(set, start, true))
	b.d.matched = append(b.d.matched, b.reaches(set, start, false))
	return s
}

// closure follows the empty transitions from pcs and returns the sorted
// instructions reached that wait for input: runes, the match, and "$".
// "^" holds only at the start.
func (b *dfaBuilder) closure(pcs []uint32, atStart bool) []uint32 {
	b.gen++
	var out []uint32
	var visit func(pc uint32)
	visit = func(pc uint32) {
		if !b.visit(pc) {
			return
		}
		in := &b.prog.Inst[pc]
		switch in.Op {
		case syntax.InstAlt, syntax.InstAltMatch:
			visit(in.Out)
			visit(in.Arg)
		case syntax.InstNop, syntax.InstCapture:
			visit(in.Out)
		case syntax.InstEmptyWidth:
			switch op := syntax.EmptyOp(in.Arg); {
			case op&syntax.EmptyBeginText != 0 && !atStart:
			case op&syntax.EmptyEndText != 0:
				out = append(out, pc) // decided at the end of the input
			default:
				visit(in.Out)
			}
		case syntax.InstFail:
		default:
			out = append(out, pc)
		}
	}
	for _, pc := range pcs {
		visit(pc)
	}
	slices.Sort(out)
	return out
}

// reaches reports whether the match instruction is reached from set with
// no more input: at the end of the text when atEnd ("$" holds), else
// before it.
func (b *dfaBuilder) reaches(set []uint32, atStart, atEnd bool) bool {
	b.gen++
	var visit func(pc uint32) bool
	visit = func(pc uint32) bool {
		if !b.visit(pc) {
			return false
		}
		in := &b.prog.Inst[pc]
		switch in.Op {
		case syntax.InstMatch:
			return true
		case syntax.InstAlt, syntax.InstAltMatch:
			return visit(in.Out) || visit(in.Arg)
		case syntax.InstNop, syntax.InstCapture:
			return visit(in.Out)
		case syntax.InstEmptyWidth:
			op := syntax.EmptyOp(in.Arg)
			if (op&syntax.EmptyBeginText != 0 && !atStart) || (op&syntax.EmptyEndText != 0 && !atEnd) {
				return false
			}
			return visit(in.Out)
		}
		return false
	}
	for _, pc := range set {
		if visit(pc) {
			return true
		}
	}
	return false
}

// consumes reports whether in is a rune instruction that matches r.
func consumes(in *syntax.Inst, r rune) bool {
	switch in.Op {
	case syntax.InstRune, syntax.InstRune1:
		return in.MatchRune(r)
	case syntax.InstRuneAny:
		return true
	case syntax.InstRuneAnyNotNL:
		return r != '\n'
	}
	return false
}

// key identifies a state set in the builder's index.
func key(set []uint32) string {
	b := make([]byte, 0, 4*len(set))
	for _, pc := range set {
		b = append(b, byte(pc), byte(pc>>8), byte(pc>>16), byte(pc>>24))
	}
	return string(b)
}

// size returns the bytes of the tables of an automaton of n states.
func (d *dfa) size(n int) int {
	return n * (utf8.RuneSelf + d.nclass) * dfaEntryBytes
}

// classOf returns the class of r, at or above RuneSelf.
func (d *dfa) classOf(r rune) int32 {
	i := sort.Search(len(d.bounds), func(i int) bool { return d.bounds[i] > r }) - 1
	return d.classes[i]
}

// match reports whether the expression matches s, as regexp's MatchString
// does: invalid UTF-8 reads as U+FFFD, one byte at a time.
func (d *dfa) match(s string) bool {
	st := int16(0)
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			st = d.byByte[int(st)<<7|int(c)]
			i++
		} else {
			r, n := utf8.DecodeRuneInString(s[i:])
			st = d.next[int(st)*d.nclass+int(d.classOf(r))]
			i += n
		}
		if st == dead {
			return false
		}
	}
	return d.accept[st] || d.matched[st]
}
