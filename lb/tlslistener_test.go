package lb

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stickylab/internal/testenv"
)

const httpsYAML = `
listener:
  protocol: HTTPS
  certificate: CERT
  default_action: {forward: {target_group: g}}
target_groups: [{name: g, targets: [app-1={app-1}], stickiness: {type: lb_cookie}}]
`

// h2Client is an HTTP/2 client that trusts any certificate (curl -k).
func h2Client() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
		ForceAttemptHTTP2: true,
	}}
}

// TestHTTPSListenerHTTP2: an HTTPS listener with a self-signed certificate,
// or one from PEM files, answers over HTTP/2 with ALB's cookies, and the
// target gets HTTP/1.1 with X-Forwarded-Proto https.
func TestHTTPSListenerHTTP2(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	cert, err := selfSignedCert(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600)
	for name, certYAML := range map[string]string{
		"self-signed": "{self_signed: true}",
		"files":       "{cert_file: " + certFile + ", key_file: " + keyFile + "}",
	} {
		t.Run(name, func(t *testing.T) {
			bs, _ := backends(t, 1)
			r := serveRouter(t, strings.Replace(httpsYAML, "CERT", certYAML, 1), bs, Config{})
			url := "https://" + strings.TrimPrefix(r.url, "http://")
			resp, body := do(t, h2Client(), "GET", url+"/headers", nil)
			if resp.ProtoMajor != 2 {
				t.Errorf("answered over %s, want HTTP/2", resp.Proto)
			}
			cookies := setCookies(resp)
			if cookies[cookieLB] == "" || !strings.HasSuffix(cookies[cookieLBCORS], "; SameSite=None; Secure") {
				t.Errorf("cookies %v, want AWSALB and AWSALBCORS", cookies)
			}
			if !strings.Contains(body, `"X-Forwarded-Proto":["https"]`) {
				t.Errorf("the target got %s, want X-Forwarded-Proto https", body)
			}
		})
	}
}

// TestHTTPSCurlHTTP2: the contract's check, with the real curl:
// curl --http2 -k https://… answers over HTTP/2 with the ALB cookies.
func TestHTTPSCurlHTTP2(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		testenv.Missing(t, "curl", "no curl command (Debian: apt-get install curl)")
	}
	bs, _ := backends(t, 1)
	r := serveRouter(t, strings.Replace(httpsYAML, "CERT", "{self_signed: true}", 1), bs, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, curl, "-sS", "--http2", "-k", "-i", "https://"+strings.TrimPrefix(r.url, "http://")+"/").CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v: %s", err, out)
	}
	got := string(out)
	if !strings.HasPrefix(got, "HTTP/2 200") || !strings.Contains(got, "set-cookie: AWSALB=") || !strings.Contains(got, "set-cookie: AWSALBCORS=") || !strings.HasSuffix(got, "app-1") {
		t.Errorf("curl --http2 -k got:\n%s\nwant HTTP/2 200 with AWSALB and AWSALBCORS from app-1", got)
	}
}

// TestHTTPRedirectToHTTPS: the HTTPS listener's http_redirect answers
// plain HTTP with a 301 to the same host, path and query on the HTTPS
// port, as ALB's usual port 80 listener; the redirect then works.
func TestHTTPRedirectToHTTPS(t *testing.T) {
	bs, _ := backends(t, 1)
	plain := listen(t)
	yaml := strings.Replace(httpsYAML, "CERT", "{self_signed: true}\n  http_redirect: '127.0.0.1:0'", 1)
	r := serveRouter(t, yaml, bs, Config{}, func(rt *Router) { rt.SetHTTPRedirectListener(plain) })
	httpsPort := r.url[strings.LastIndex(r.url, ":")+1:]
	resp, _ := do(t, newClient(t), "GET", "http://"+plain.Addr().String()+"/cart?item=tea", nil)
	want := "https://127.0.0.1:" + httpsPort + "/cart?item=tea"
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != want {
		t.Fatalf("got %d to %q, want 301 to %s", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	if resp, body := do(t, h2Client(), "GET", want, nil); resp.StatusCode != 200 || body != "app-1" || resp.ProtoMajor != 2 {
		t.Errorf("following the redirect: %s %d %q, want HTTP/2 200 from app-1", resp.Proto, resp.StatusCode, body)
	}
}
