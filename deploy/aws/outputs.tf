output "url" {
  description = "The shop, through the ALB. It answers once the instances pass their health checks (a minute or two after apply)."
  value       = "http://${aws_lb.lab.dns_name}/"
}

output "session_api" {
  description = "The session API, routed by the /api/* rule to the api target group."
  value       = "http://${aws_lb.lab.dns_name}/api/session"
}

output "stickiness" {
  description = "The stickiness and store this apply made."
  value       = "stickiness ${var.stickiness}, store ${var.store}"
}
