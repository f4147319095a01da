# The blog's setup on real AWS: a VPC with two public subnets, an ALB whose
# HTTP listener sends /api and /api/* to one target group and the pages to
# another (the same instances in both), stickiness by variable, two or more
# EC2 instances running `stickylab app`, and an ElastiCache Redis when
# store = "redis". README.md beside this file: how to apply it, what it
# costs per hour, and `terraform destroy`. Not applied by CI.
terraform {
  required_version = ">= 1.6.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }
}

provider "aws" {
  region = var.region
  default_tags {
    tags = {
      Project = "stickylab"
    }
  }
}
