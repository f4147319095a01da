package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxBodyBytes bounds every request body: the largest valid one, a JSON
// object with a 64-character item, is far smaller.
const maxBodyBytes = 4 << 10

// maxTextLen is the longest username or cart item, in characters.
const maxTextLen = 64

// cleanText checks a username or cart item from the client and returns it
// trimmed of surrounding white space: 1 to maxTextLen printable characters
// of valid UTF-8.
func cleanText(field, s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", badRequest(field + " must be valid UTF-8 text")
	}
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	switch {
	case n == 0:
		return "", badRequest(field + " must not be empty")
	case n > maxTextLen:
		return "", badRequest(fmt.Sprintf("%s must be at most %d characters, got %d", field, maxTextLen, n))
	}
	for _, c := range s {
		if !unicode.IsPrint(c) {
			return "", badRequest(fmt.Sprintf("%s must be printable text, got %q", field, c))
		}
	}
	return s, nil
}

// decodeJSON reads the body of r, at most maxBodyBytes of Content-Type
// application/json holding exactly one JSON object with only the fields of
// dst, into dst.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	if err := requireContentType(r, "application/json"); err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		if tooLarge(err) {
			return jsonError(err)
		}
		return badRequest("could not read the request body")
	}
	// encoding/json would quietly turn invalid UTF-8 into U+FFFD.
	if !utf8.Valid(body) {
		return badRequest("request body must be valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return badRequest("request body must hold a single JSON object")
	}
	return nil
}

// jsonError turns a decoding failure into a message that says what is wrong
// with the body, without echoing it.
func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case tooLarge(err):
		return &clientError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body too large: at most %d bytes", maxBodyBytes)}
	case errors.Is(err, io.EOF):
		return badRequest("request body is empty: send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed JSON: the body ends in the middle of a value")
	case errors.As(err, &syntax):
		return badRequest(fmt.Sprintf("malformed JSON at byte %d", syntax.Offset))
	case errors.As(err, &typ):
		return badRequest("request body must be a JSON object")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no error type for this case.
		return badRequest("unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return badRequest("malformed JSON")
}

// jsonText reads a JSON body that holds one text field, {"<field>": "..."},
// and returns the field checked by cleanText.
func jsonText(w http.ResponseWriter, r *http.Request, field string) (string, error) {
	var body map[string]json.RawMessage
	if err := decodeJSON(w, r, &body); err != nil {
		return "", err
	}
	for _, k := range slices.Sorted(maps.Keys(body)) {
		if k != field {
			return "", badRequest(fmt.Sprintf("unknown field %q: the body is {%q: \"...\"}", k, field))
		}
	}
	var text string
	if raw, ok := body[field]; ok {
		if err := json.Unmarshal(raw, &text); err != nil {
			return "", badRequest(fmt.Sprintf("field %q must be a JSON string", field))
		}
	}
	return cleanText(field, text)
}

// formText reads a posted form's text field, checked by cleanText.
func formText(w http.ResponseWriter, r *http.Request, field string) (string, error) {
	v, err := formValue(w, r, field)
	if err != nil {
		return "", err
	}
	return cleanText(field, v)
}

// formValue reads the body of r, at most maxBodyBytes of an HTML form
// (application/x-www-form-urlencoded), and returns its field.
func formValue(w http.ResponseWriter, r *http.Request, field string) (string, error) {
	if err := requireContentType(r, "application/x-www-form-urlencoded"); err != nil {
		return "", err
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if err := r.ParseForm(); err != nil {
		if tooLarge(err) {
			return "", &clientError{http.StatusRequestEntityTooLarge, fmt.Sprintf("form too large: at most %d bytes", maxBodyBytes)}
		}
		return "", badRequest("malformed form data")
	}
	return r.PostForm.Get(field), nil
}

func requireContentType(r *http.Request, want string) error {
	ct := r.Header.Get("Content-Type")
	got, _, err := mime.ParseMediaType(ct)
	if err != nil || got != want {
		return &clientError{http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type must be %s, got %.64q", want, ct)}
	}
	return nil
}

func tooLarge(err error) bool {
	var mb *http.MaxBytesError
	return errors.As(err, &mb)
}
