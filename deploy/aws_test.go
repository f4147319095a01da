package deploy_test

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// awsDir is the Terraform configuration of the blog's setup on real AWS.
var awsDir = "aws"

// tfConfig is deploy/aws parsed: every block of every .tf file, by kind.
type tfConfig struct {
	blocks    []*hclsyntax.Block // all top-level blocks
	resources map[string]*hclsyntax.Block
	data      map[string]*hclsyntax.Block
	variables map[string]*hclsyntax.Block
	locals    map[string]*hclsyntax.Attribute
	outputs   map[string]*hclsyntax.Block
}

// parseTerraform parses every .tf file of dir with the HCL parser that
// Terraform uses; a syntax error fails the test.
func parseTerraform(t *testing.T, dir string) tfConfig {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no .tf files in %s (%v)", dir, err)
	}
	p := hclparse.NewParser()
	c := tfConfig{
		resources: map[string]*hclsyntax.Block{}, data: map[string]*hclsyntax.Block{},
		variables: map[string]*hclsyntax.Block{}, locals: map[string]*hclsyntax.Attribute{},
		outputs: map[string]*hclsyntax.Block{},
	}
	for _, name := range files {
		f, diags := p.ParseHCLFile(name)
		if diags.HasErrors() {
			t.Fatalf("%s: %s", name, diags.Error())
		}
		body := f.Body.(*hclsyntax.Body)
		for name := range body.Attributes {
			t.Errorf("%s: top-level attribute %s: Terraform has blocks only at the top", f.Body.MissingItemRange().Filename, name)
		}
		for _, b := range body.Blocks {
			c.blocks = append(c.blocks, b)
			switch b.Type {
			case "resource":
				c.resources[strings.Join(b.Labels, ".")] = b
			case "data":
				c.data[strings.Join(b.Labels, ".")] = b
			case "variable":
				c.variables[b.Labels[0]] = b
			case "output":
				c.outputs[b.Labels[0]] = b
			case "locals":
				for name, a := range b.Body.Attributes {
					c.locals[name] = a
				}
			case "terraform", "provider":
			default:
				t.Errorf("%s: block %s, which Terraform does not have at the top", b.TypeRange, b.Type)
			}
		}
	}
	return c
}

// TestTerraformArguments parses deploy/aws and checks every argument and
// nested block of every resource and data source against the AWS
// provider's documented names (awsResources), and every reference against
// what the configuration declares: a misspelt argument, resource or
// variable fails here instead of at `terraform plan`.
func TestTerraformArguments(t *testing.T) {
	c := parseTerraform(t, awsDir)
	for _, b := range c.blocks {
		var table map[string]schema
		var meta schema
		switch b.Type {
		case "resource":
			table, meta = awsResources, resourceMeta
		case "data":
			table, meta = awsDataSources, dataMeta
		default:
			continue
		}
		if len(b.Labels) != 2 {
			t.Errorf("%s: %s block with labels %q, want type and name", b.TypeRange, b.Type, b.Labels)
			continue
		}
		s, ok := table[b.Labels[0]]
		if !ok {
			t.Errorf("%s: %s type %s is not in the test's table of documented arguments: add it from the provider's documentation",
				b.TypeRange, b.Type, b.Labels[0])
			continue
		}
		checkBody(t, b.Labels[0]+"."+b.Labels[1], b.Body, s, meta)
	}
	checkReferences(t, c)
}

// checkBody checks a block's arguments and nested blocks against s (and
// meta, the meta-arguments, at the top of a resource).
func checkBody(t *testing.T, where string, body *hclsyntax.Body, s, meta schema) {
	for name, a := range body.Attributes {
		if !s.hasArg(name) && !meta.hasArg(name) {
			t.Errorf("%s: %s: argument %q is not documented for it", a.NameRange, where, name)
		}
	}
	for _, nb := range body.Blocks {
		name, nbody := nb.Type, nb.Body
		if name == "dynamic" && len(nb.Labels) == 1 {
			name = nb.Labels[0]
			for _, cb := range nb.Body.Blocks {
				if cb.Type == "content" {
					nbody = cb.Body
				}
			}
		}
		ns, ok := s.blocks[name]
		if !ok {
			ns, ok = meta.blocks[name]
		}
		if !ok {
			t.Errorf("%s: %s: block %q is not documented for it", nb.TypeRange, where, name)
			continue
		}
		checkBody(t, where+"."+name, nbody, ns, schema{})
	}
}

// checkReferences: every var., local., data. and resource reference names
// something declared, count.index only where count is set, each. only where
// for_each is, and templatefile's variables are the template's.
func checkReferences(t *testing.T, c tfConfig) {
	for _, b := range c.blocks {
		_, hasCount := b.Body.Attributes["count"]
		_, hasForEach := b.Body.Attributes["for_each"]
		walkAttrs(b.Body, func(a *hclsyntax.Attribute) {
			if b.Type == "variable" && a.Name == "type" {
				return // a type constraint (string, number), not references
			}
			for _, tr := range a.Expr.Variables() {
				checkTraversal(t, c, tr, hasCount, hasForEach)
			}
			_ = hclsyntax.VisitAll(a.Expr, func(n hclsyntax.Node) hcl.Diagnostics {
				if call, ok := n.(*hclsyntax.FunctionCallExpr); ok && call.Name == "templatefile" {
					checkTemplateFile(t, call)
				}
				return nil
			})
		})
	}
}

// walkAttrs calls f on every attribute of body and of its nested blocks.
func walkAttrs(body *hclsyntax.Body, f func(*hclsyntax.Attribute)) {
	for _, a := range body.Attributes {
		f(a)
	}
	for _, b := range body.Blocks {
		walkAttrs(b.Body, f)
	}
}

// checkTemplateFile: the template exists, parses, and uses exactly the
// variables the call passes it (Terraform fails at plan time on a missing
// one, and an unused one is a mistake).
func checkTemplateFile(t *testing.T, call *hclsyntax.FunctionCallExpr) {
	if len(call.Args) != 2 {
		t.Errorf("%s: templatefile with %d arguments, want 2", call.Range(), len(call.Args))
		return
	}
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{
		"path": cty.ObjectVal(map[string]cty.Value{"module": cty.StringVal(awsDir)}),
	}}
	pathVal, diags := call.Args[0].Value(ctx)
	if diags.HasErrors() {
		t.Errorf("%s: templatefile path: %s", call.Range(), diags.Error())
		return
	}
	src, err := os.ReadFile(pathVal.AsString())
	if err != nil {
		t.Errorf("%s: %v", call.Range(), err)
		return
	}
	tmpl, diags := hclsyntax.ParseTemplate(src, pathVal.AsString(), hcl.InitialPos)
	if diags.HasErrors() {
		t.Errorf("%s: %s", pathVal.AsString(), diags.Error())
		return
	}
	used := map[string]bool{}
	for _, tr := range tmpl.Variables() {
		used[tr.RootName()] = true
	}
	passed := map[string]bool{}
	obj, ok := call.Args[1].(*hclsyntax.ObjectConsExpr)
	if !ok {
		t.Errorf("%s: templatefile's variables are not an object literal", call.Range())
		return
	}
	for _, item := range obj.Items {
		passed[hcl.ExprAsKeyword(item.KeyExpr)] = true
	}
	if !maps.Equal(used, passed) {
		t.Errorf("%s: %s uses %v, the call passes %v", call.Range(), pathVal.AsString(),
			slices.Sorted(maps.Keys(used)), slices.Sorted(maps.Keys(passed)))
	}
}
func checkTraversal(t *testing.T, c tfConfig, tr hcl.Traversal, hasCount, hasForEach bool) {
	root := tr.RootName()
	attr := func(i int) string {
		if len(tr) > i {
			if a, ok := tr[i].(hcl.TraverseAttr); ok {
				return a.Name
			}
		}
		return ""
	}
	ok := true
	switch root {
	case "var":
		_, ok = c.variables[attr(1)]
	case "local":
		_, ok = c.locals[attr(1)]
	case "data":
		_, ok = c.data[attr(1)+"."+attr(2)]
	case "count":
		ok = hasCount && attr(1) == "index"
	case "each":
		ok = hasForEach && (attr(1) == "key" || attr(1) == "value")
	case "path":
		ok = slices.Contains([]string{"module", "root", "cwd"}, attr(1))
	default:
		_, ok = c.resources[root+"."+attr(1)]
	}
	if !ok {
		t.Errorf("%s: reference %s names nothing declared (or count/each where the block has neither)",
			tr.SourceRange(), tfString(tr))
	}
}

func tfString(tr hcl.Traversal) string {
	var b strings.Builder
	for _, s := range tr {
		switch s := s.(type) {
		case hcl.TraverseRoot:
			b.WriteString(s.Name)
		case hcl.TraverseAttr:
			b.WriteString("." + s.Name)
		default:
			b.WriteString("[…]")
		}
	}
	return b.String()
}
