// Package palette gives every instance its colour, the same in every
// process that shows it: the app's page and the balancer's dashboard.
package palette

import (
	"hash/fnv"
	"strconv"
)

const paletteSize = 8

// Color returns the colour of the instance called name, as #rrggbb. A name
// that ends in a number n (app-1, app-2, web3) gets palette entry n-1,
// wrapping around after eight, so that the instances of one lab get distinct
// colours; any other name gets an entry chosen by a hash of the name. The
// result depends on name only, so every process (the app, the dashboard)
// shows an instance in the same colour. Every colour carries white text.
func Color(name string) string {
	// Eight hues far apart on the colour wheel, each dark enough for white
	// text (WCAG AA contrast of at least 4.5:1), ordered so that app-1, app-2
	// and app-3, the usual lab, look least alike.
	palette := [paletteSize]string{
		"#1d4ed8", // blue
		"#c2410c", // orange
		"#047857", // green
		"#7e22ce", // purple
		"#be185d", // pink
		"#0e7490", // teal
		"#a16207", // amber
		"#4d7c0f", // lime
	}
	if n, ok := trailingNumber(name); ok {
		return palette[(n+paletteSize-1)%paletteSize]
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	return palette[h.Sum32()%paletteSize]
}

// trailingNumber returns the number that name ends with, reduced modulo the
// palette size so that long digit strings cannot overflow.
func trailingNumber(name string) (int, bool) {
	i := len(name)
	for i > 0 && name[i-1] >= '0' && name[i-1] <= '9' {
		i--
	}
	digits := name[i:]
	if digits == "" {
		return 0, false
	}
	if len(digits) > 9 {
		digits = digits[len(digits)-9:]
	}
	n, err := strconv.Atoi(digits)
	if err != nil {
		return 0, false
	}
	return n % paletteSize, true
}
