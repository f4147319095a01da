package listener

import (
	"unicode"
	"unicode/utf8"
)

// wildcardMatch reports whether s matches the whole of pattern, ALB's
// condition syntax: * matches zero or more characters (slashes included,
// so /api/* matches /api/a/b), ? exactly one character, and \* \? \\ stand
// for the literal characters (ALB documents the escape for query strings;
// the other conditions' allowed characters leave no room for a backslash).
// With fold, letters compare without case.
//
// It backtracks only to the last *, so it takes time linear in
// len(pattern) × len(s) at worst, never exponential.
func wildcardMatch(pattern, s string, fold bool) bool {
	p, i := 0, 0
	star, restart := -1, 0 // after the last *: where the pattern resumes, and where s resumes
	for i < len(s) {
		c, literal, n := patternRune(pattern, p)
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case p < len(pattern) && c == '*' && !literal:
			star, restart = p+n, i
			p += n
			continue
		case p < len(pattern) && ((c == '?' && !literal) || sameRune(c, r, fold)):
			p += n
			i += w
			continue
		case star >= 0:
			_, w = utf8.DecodeRuneInString(s[restart:])
			restart += w
			p, i = star, restart
			continue
		}
		return false
	}
	for p < len(pattern) {
		c, literal, n := patternRune(pattern, p)
		if c != '*' || literal {
			return false
		}
		p += n
	}
	return true
}

// patternRune returns the pattern's character at p, whether a backslash
// made it literal, and how many bytes it took.
func patternRune(pattern string, p int) (c rune, literal bool, n int) {
	if p >= len(pattern) {
		return utf8.RuneError, false, 0
	}
	if pattern[p] == '\\' && p+1 < len(pattern) {
		c, n = utf8.DecodeRuneInString(pattern[p+1:])
		return c, true, n + 1
	}
	c, n = utf8.DecodeRuneInString(pattern[p:])
	return c, false, n
}

func sameRune(a, b rune, fold bool) bool {
	return a == b || fold && unicode.ToLower(a) == unicode.ToLower(b)
}

// wildcards counts the unescaped * and ? of pattern, for ALB's limit of
// wildcards per rule.
func wildcards(pattern string) int {
	n := 0
	for p := 0; p < len(pattern); {
		c, literal, w := patternRune(pattern, p)
		if !literal && (c == '*' || c == '?') {
			n++
		}
		p += w
	}
	return n
}
