// Package listener is ALB's routing model as stickylab's configuration
// file describes it: a listener, its rules and target groups, with the
// names of ALB's API and of Terraform's aws_lb_listener,
// aws_lb_listener_rule and aws_lb_target_group. It parses and strictly
// validates the file, and matches requests against the rules; it knows
// nothing of the running balancer, which reads a Config.
package listener

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DefaultGroup is the name of the one target group that the flags
// describe.
const DefaultGroup = "default"

// Config is a configuration file: one listener and the target groups its
// actions forward to.
type Config struct {
	Listener Listener
	// TargetGroups are in file order, names unique.
	TargetGroups []*TargetGroup
}

// TargetGroup returns the group named name, or nil.
func (c *Config) TargetGroup(name string) *TargetGroup {
	for _, tg := range c.TargetGroups {
		if tg.Name == name {
			return tg
		}
	}
	return nil
}

// Shorthand returns the configuration the flags stand for: one HTTP
// listener on listen whose default action forwards everything to group,
// renamed DefaultGroup. It checks nothing: the flags have their own
// ranges (a health interval may be 1s there, for the demo).
func Shorthand(listen string, group TargetGroup) *Config {
	group.Name = DefaultGroup
	return &Config{
		Listener: Listener{
			Listen: listen, Protocol: HTTP, IdleTimeout: DefaultIdleTimeout,
			DefaultAction: Action{Forward: &Forward{TargetGroups: []WeightedGroup{{Name: DefaultGroup, Weight: 1}}}},
		},
		TargetGroups: []*TargetGroup{&group},
	}
}

// Load reads and parses the configuration file at path. Its errors are
// *Error for mistakes in the file, naming path, the line and the column.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

var topKeys = []string{"listener", "target_groups"}

// Parse parses a configuration file's contents; name is the file's name,
// used in errors and as the directory that relative certificate files are
// in. Every error is an *Error.
func Parse(name string, data []byte) (*Config, error) {
	d := &decoder{file: name, dir: filepath.Dir(name)}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: name, Detail: "the file is empty; want listener and target_groups"}
		}
		return nil, d.syntaxError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, d.syntaxError(err)
		}
		return nil, d.fail(&extra, "", "a second YAML document; want one (no --- separators)")
	}
	if len(doc.Content) == 0 || resolve(doc.Content[0]).ShortTag() == "!!null" {
		return nil, &Error{File: name, Detail: "the file is empty; want listener and target_groups"}
	}
	root := resolve(doc.Content[0])

	// The groups first, whatever their place in the file, so that the
	// listener's actions can be checked against them as they are read.
	var listenerNode, groupsNode *yaml.Node
	err := d.fields(root, "", withExtensions(root, topKeys), func(key string, v *yaml.Node) error {
		switch key {
		case "listener":
			listenerNode = v
		case "target_groups":
			groupsNode = v
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if listenerNode == nil {
		return nil, d.missing(root, "", "listener", "{listen, protocol, default_action, rules, ...}")
	}
	cfg := &Config{}
	groups := map[string]*TargetGroup{}
	if groupsNode != nil {
		if cfg.TargetGroups, err = d.targetGroups(groupsNode, groups); err != nil {
			return nil, err
		}
	}
	if cfg.Listener, err = d.listener(listenerNode, "listener", groups); err != nil {
		return nil, err
	}
	return cfg, nil
}

// withExtensions adds to keys the top-level keys of root that start with
// x-: a place for YAML anchors that the rest of the file refers to, as in
// docker compose files. Their values are read only where they are merged.
func withExtensions(root *yaml.Node, keys []string) []string {
	root = resolve(root)
	if root.Kind != yaml.MappingNode {
		return keys
	}
	all := slices.Clone(keys)
	for i := 0; i < len(root.Content); i += 2 {
		if k := root.Content[i].Value; strings.HasPrefix(k, "x-") {
			all = append(all, k)
		}
	}
	return all
}

// targetGroups decodes target_groups, names unique, into groups too.
func (d *decoder) targetGroups(v *yaml.Node, groups map[string]*TargetGroup) ([]*TargetGroup, error) {
	const field = "target_groups"
	items, err := d.list(v, field, "target groups {name, targets, ...}")
	if err != nil {
		return nil, err
	}
	out := make([]*TargetGroup, len(items))
	where := map[string]int{}
	for i, item := range items {
		tg, err := d.targetGroup(item, index(field, i))
		if err != nil {
			return nil, err
		}
		if j, dup := where[tg.Name]; dup {
			return nil, d.fail(valueOf(item, "name"), index(field, i)+".name", "%q is already the name of %s; names must be unique", tg.Name, index(field, j))
		}
		where[tg.Name], groups[tg.Name], out[i] = i, tg, tg
	}
	return out, nil
}
