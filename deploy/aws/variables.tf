variable "region" {
  type        = string
  description = "AWS region. README.md's hourly cost is for us-east-1."
  default     = "us-east-1"
}

variable "stickiness" {
  type        = string
  description = "Target group stickiness: lb_cookie (ALB's AWSALB cookie, lb -sticky duration), app_cookie (AWSALBAPP, following the app's session cookie, lb -sticky app) or none (lb -sticky none)."
  default     = "app_cookie"
  validation {
    condition     = contains(["lb_cookie", "app_cookie", "none"], var.stickiness)
    error_message = "The stickiness must be lb_cookie, app_cookie or none."
  }
}

variable "sticky_duration" {
  type        = number
  description = "Seconds a client stays on its target (ALB's cookie_duration, lb -sticky-duration): 1 to 604800 (7 days)."
  default     = 86400
  validation {
    condition     = var.sticky_duration >= 1 && var.sticky_duration <= 604800 && floor(var.sticky_duration) == var.sticky_duration
    error_message = "The sticky_duration must be a whole number of seconds from 1 to 604800 (ALB's range)."
  }
}

variable "app_cookie_name" {
  type        = string
  description = "The application's session cookie that app_cookie stickiness follows (lb -app-cookie); stickylab app's is stickylab_session."
  default     = "stickylab_session"
  validation {
    condition     = can(regex("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", var.app_cookie_name)) && !can(regex("^AWSALB", var.app_cookie_name))
    error_message = "The app_cookie_name must be a cookie name (RFC 6265 token) not starting with AWSALB, which ALB reserves."
  }
}

variable "store" {
  type        = string
  description = "Where sessions live: memory (each instance its own, the blog's setup) or redis (an ElastiCache node they share)."
  default     = "memory"
  validation {
    condition     = contains(["memory", "redis"], var.store)
    error_message = "The store must be memory or redis."
  }
}

variable "instance_count" {
  type        = number
  description = "EC2 instances running stickylab app, spread over the two subnets: 2 to 6."
  default     = 2
  validation {
    condition     = var.instance_count >= 2 && var.instance_count <= 6 && floor(var.instance_count) == var.instance_count
    error_message = "The instance_count must be a whole number from 2 to 6: stickiness needs two targets at least."
  }
}

variable "instance_type" {
  type        = string
  description = "EC2 instance type: a Graviton (arm64) type, for the linux/arm64 binary."
  default     = "t4g.micro"
  validation {
    condition     = can(regex("^[a-z][0-9]+g[a-z]*\\.[a-z0-9]+$", var.instance_type))
    error_message = "The instance_type must be a Graviton (arm64) type such as t4g.micro or m7g.large: the binary is built for linux/arm64."
  }
}

variable "stickylab_binary" {
  type        = string
  description = "Path of the stickylab binary built for the instances: CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -o deploy/aws/stickylab-linux-arm64 . (from the repository root)."
  default     = "stickylab-linux-arm64"
}

variable "allowed_cidr" {
  type        = string
  description = "Who may reach the ALB on port 80. The default is everyone: narrow it to your own address (203.0.113.7/32)."
  default     = "0.0.0.0/0"
  validation {
    condition     = can(regex("^[0-9]{1,3}(\\.[0-9]{1,3}){3}/[0-9]{1,2}$", var.allowed_cidr))
    error_message = "The allowed_cidr must be an IPv4 CIDR block such as 203.0.113.7/32."
  }
}
