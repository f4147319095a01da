package deploy_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"stickylab/lb"
	"stickylab/lb/listener"
)

// validationCases are values each validated variable must accept (true) or
// refuse (false). Every variable with a validation block must be here.
var validationCases = map[string]map[string]bool{
	"stickiness":      {"lb_cookie": true, "app_cookie": true, "none": true, "duration": false, "": false, "LB_COOKIE": false},
	"store":           {"memory": true, "redis": true, "cookie": false, "": false},
	"sticky_duration": {"1": true, "86400": true, "604800": true, "0": false, "604801": false, "1.5": false},
	"instance_count":  {"2": true, "6": true, "1": false, "0": false, "7": false, "2.5": false},
	"app_cookie_name": {"stickylab_session": true, "JSESSIONID": true, "AWSALBAPP-0": false, "AWSALB": false, "": false, "a b": false, "a;b": false},
	"instance_type":   {"t4g.micro": true, "m7g.large": true, "c7gn.xlarge": true, "t3.micro": false, "m5.large": false, "": false},
	"allowed_cidr":    {"0.0.0.0/0": true, "203.0.113.7/32": true, "203.0.113.7": false, "example.com": false},
}

// tfFunctions are the Terraform functions the validations use, from the
// same implementations Terraform calls (go-cty's stdlib, HCL's can).
var tfFunctions = map[string]function.Function{
	"contains": stdlib.ContainsFunc,
	"length":   stdlib.LengthFunc,
	"floor":    stdlib.FloorFunc,
	"regex":    stdlib.RegexFunc,
	"can":      tryfunc.CanFunc,
}

// validates evaluates the variable's validation conditions with var.NAME =
// value: nil when all hold, else what failed.
func validates(v *hclsyntax.Block, value cty.Value) error {
	name := v.Labels[0]
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{name: value})},
		Functions: tfFunctions,
	}
	for _, b := range v.Body.Blocks {
		if b.Type != "validation" {
			continue
		}
		got, diags := b.Body.Attributes["condition"].Expr.Value(ctx)
		if diags.HasErrors() {
			return fmt.Errorf("condition: %s", diags.Error())
		}
		if got.Type() != cty.Bool || !got.IsKnown() || got.IsNull() {
			return fmt.Errorf("condition: %#v, want a bool", got)
		}
		if got.False() {
			return fmt.Errorf("condition false")
		}
	}
	return nil
}

// TestTerraformVariables: every variable has a type and a description, its
// default has that type and passes its validations, and each validation
// accepts and refuses what validationCases says.
func TestTerraformVariables(t *testing.T) {
	c := parseTerraform(t, awsDir)
	for name, v := range c.variables {
		t.Run(name, func(t *testing.T) {
			ta := v.Body.Attributes["type"]
			if ta == nil {
				t.Fatal("no type")
			}
			typ, diags := typeexpr.TypeConstraint(ta.Expr)
			if diags.HasErrors() {
				t.Fatalf("type: %s", diags.Error())
			}
			if v.Body.Attributes["description"] == nil {
				t.Error("no description")
			}
			validated := slices.ContainsFunc(v.Body.Blocks, func(b *hclsyntax.Block) bool {
				if b.Type == "validation" && b.Body.Attributes["error_message"] == nil {
					t.Error("a validation without error_message")
				}
				return b.Type == "validation"
			})
			cases, tested := validationCases[name]
			if validated != tested {
				t.Fatalf("has validation %v, has cases in validationCases %v: want both or neither", validated, tested)
			}
			if d := v.Body.Attributes["default"]; d != nil {
				val, diags := d.Expr.Value(nil)
				if diags.HasErrors() {
					t.Fatalf("default: %s", diags.Error())
				}
				val, err := convert.Convert(val, typ)
				if err != nil {
					t.Fatalf("default is not a %s: %v", typ.FriendlyName(), err)
				}
				if err := validates(v, val); err != nil {
					t.Errorf("the default %#v fails its own validation: %v", val, err)
				}
			}
			for raw, want := range cases {
				val, err := convert.Convert(cty.StringVal(raw), typ)
				if err != nil {
					if want {
						t.Errorf("%q: not a %s: %v", raw, typ.FriendlyName(), err)
					}
					continue
				}
				if err := validates(v, val); (err == nil) != want {
					t.Errorf("%q: validation error %v, want accepted %v", raw, err, want)
				}
			}
		})
	}
}

// literal is a constant attribute's value (nil when it has none).
func literal(t *testing.T, body *hclsyntax.Body, name string) cty.Value {
	t.Helper()
	a := body.Attributes[name]
	if a == nil {
		return cty.NilVal
	}
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() {
		t.Fatalf("%s: %s is not a constant: %s", a.NameRange, name, diags.Error())
	}
	return v
}

func nestedBlock(body *hclsyntax.Body, name string) *hclsyntax.Body {
	for _, b := range body.Blocks {
		if b.Type == name {
			return b.Body
		}
	}
	return nil
}

// TestTerraformMatchesLab: the AWS setup is the one the lab shows. Its
// target groups' health checks and deregistration delay are lb's defaults,
// the listener's path rule is the one of `stickylab demo -setup
// blog-paths` (lb/listener/testdata/blog-paths.yaml), and the URL is an
// output.
func TestTerraformMatchesLab(t *testing.T) {
	c := parseTerraform(t, awsDir)
	tg := c.resources["aws_lb_target_group.lab"]
	if tg == nil {
		t.Fatal("no aws_lb_target_group.lab")
	}
	hc := nestedBlock(tg.Body, "health_check")
	if hc == nil {
		t.Fatal("aws_lb_target_group.lab: no health_check")
	}
	secs := func(d time.Duration) cty.Value { return cty.NumberIntVal(int64(d / time.Second)) }
	for name, want := range map[string]cty.Value{
		"path":                cty.StringVal(lb.DefaultHealthPath),
		"interval":            secs(lb.DefaultHealthInterval),
		"timeout":             secs(lb.DefaultHealthTimeout),
		"healthy_threshold":   cty.NumberIntVal(lb.DefaultHealthyThreshold),
		"unhealthy_threshold": cty.NumberIntVal(lb.DefaultUnhealthyThreshold),
	} {
		if got := literal(t, hc, name); got == cty.NilVal || !got.RawEquals(want) {
			t.Errorf("health_check.%s = %#v, want lb's default %#v", name, got, want)
		}
	}
	if got := literal(t, tg.Body, "deregistration_delay"); got == cty.NilVal || !got.RawEquals(secs(lb.DefaultDeregistrationDelay)) {
		t.Errorf("deregistration_delay = %#v, want lb's default %s", got, lb.DefaultDeregistrationDelay)
	}
	if got := literal(t, c.variables["sticky_duration"].Body, "default"); !got.RawEquals(secs(lb.DefaultStickyDuration)) {
		t.Errorf("sticky_duration's default = %#v, want lb's %s", got, lb.DefaultStickyDuration)
	}

	blog, err := listener.Load(filepath.Join("..", "lb", "listener", "testdata", "blog-paths.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(blog.Listener.Rules) != 1 {
		t.Fatalf("blog-paths.yaml: %d rules, want the one this test compares", len(blog.Listener.Rules))
	}
	want := blog.Listener.Rules[0]
	rule := c.resources["aws_lb_listener_rule.api"]
	if rule == nil {
		t.Fatal("no aws_lb_listener_rule.api")
	}
	if got := literal(t, rule.Body, "priority"); !got.RawEquals(cty.NumberIntVal(int64(want.Priority))) {
		t.Errorf("rule priority %#v, want blog-paths.yaml's %d", got, want.Priority)
	}
	var patterns []string
	if cond := nestedBlock(rule.Body, "condition"); cond != nil {
		if pp := nestedBlock(cond, "path_pattern"); pp != nil {
			for _, v := range literal(t, pp, "values").AsValueSlice() {
				patterns = append(patterns, v.AsString())
			}
		}
	}
	if !slices.Equal(patterns, want.Conditions.PathPattern) {
		t.Errorf("rule path_pattern %q, want blog-paths.yaml's %q", patterns, want.Conditions.PathPattern)
	}
	// Both groups of blog-paths.yaml are target groups here (for_each keys).
	groups := map[string]bool{}
	if fe := tg.Body.Attributes["for_each"]; fe != nil {
		for _, tr := range fe.Expr.Variables() {
			if tr.RootName() == "local" {
				v, diags := c.locals[tfString(tr)[len("local."):]].Expr.Value(nil)
				if !diags.HasErrors() {
					for k := range v.AsValueMap() {
						groups[k] = true
					}
				}
			}
		}
	}
	for _, g := range blog.TargetGroups {
		if !groups[g.Name] {
			t.Errorf("blog-paths.yaml's target group %s is not among aws_lb_target_group.lab's for_each keys %v", g.Name, groups)
		}
	}

	url := c.outputs["url"]
	if url == nil {
		t.Fatal("no output url")
	}
	refsALB := slices.ContainsFunc(url.Body.Attributes["value"].Expr.Variables(), func(tr hcl.Traversal) bool {
		return tfString(tr) == "aws_lb.lab.dns_name"
	})
	if !refsALB {
		t.Error("output url does not use aws_lb.lab.dns_name")
	}
}
