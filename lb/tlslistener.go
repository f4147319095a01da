package lb

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"time"

	"stickylab/lb/listener"
)

// listenerTLS returns the TLS configuration of an HTTPS listener (ALB's
// HTTPS listener; HTTP/2 is offered by net/http's server on top of it):
// the certificate from its PEM files, or a self-signed one made now for
// local use. TLS 1.2 at least, as ALB's default security policies.
func listenerTLS(c *listener.Certificate) (*tls.Config, error) {
	var cert tls.Certificate
	var err error
	if c.SelfSigned {
		cert, err = selfSignedCert(time.Now())
	} else {
		cert, err = tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	}
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// selfSignedCert makes an ECDSA P-256 certificate for localhost,
// 127.0.0.1 and ::1, valid from an hour before now for 30 days. Browsers
// and curl warn about it (curl -k); it is for a lab on one machine.
func selfSignedCert(now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "stickylab self-signed", Organization: []string{"stickylab"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
