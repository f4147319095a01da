# The ALB and the blog's path rules: /api and /api/* to target group "api",
# everything else to "pages" (the listener's default action), the same
# instances registered in both, each group with its own stickiness (as
# lb/listener/testdata/blog-paths.yaml and `stickylab demo -setup
# blog-paths` in the lab). Health checks and deregistration delay are the
# lab balancer's defaults, so that what you saw in the lab is what happens
# here (docs/beyond-one-machine.md pairs each with its lb flag).
locals {
  target_groups = {
    pages = "stickylab-pages"
    api   = "stickylab-api"
  }
  # One attachment per group and instance: "pages/0", "api/1", ...
  attachments = {
    for pair in setproduct(keys(local.target_groups), range(var.instance_count)) :
    "${pair[0]}/${pair[1]}" => { group = pair[0], instance = pair[1] }
  }
}

resource "aws_lb" "lab" {
  name               = "stickylab"
  load_balancer_type = "application"
  internal           = false
  security_groups    = [aws_security_group.alb.id]
  subnets            = aws_subnet.public[*].id
  idle_timeout       = 60
}

resource "aws_lb_target_group" "lab" {
  for_each             = local.target_groups
  name                 = each.value
  vpc_id               = aws_vpc.lab.id
  target_type          = "instance"
  protocol             = "HTTP"
  port                 = 8080
  deregistration_delay = 30

  health_check {
    enabled             = true
    path                = "/healthz"
    interval            = 5
    timeout             = 2
    healthy_threshold   = 2
    unhealthy_threshold = 2
    matcher             = "200"
  }

  # stickiness = "none" keeps the block, disabled: the target group's
  # stickiness attribute is then set to off, not left as it was.
  stickiness {
    enabled         = var.stickiness != "none"
    type            = var.stickiness == "app_cookie" ? "app_cookie" : "lb_cookie"
    cookie_duration = var.sticky_duration
    cookie_name     = var.stickiness == "app_cookie" ? var.app_cookie_name : null
  }
}

resource "aws_lb_target_group_attachment" "lab" {
  for_each         = local.attachments
  target_group_arn = aws_lb_target_group.lab[each.value.group].arn
  target_id        = aws_instance.app[each.value.instance].id
  port             = 8080
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.lab.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.lab["pages"].arn
  }
}

resource "aws_lb_listener_rule" "api" {
  listener_arn = aws_lb_listener.http.arn
  priority     = 10

  condition {
    path_pattern {
      values = ["/api", "/api/*"]
    }
  }

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.lab["api"].arn
  }
}
