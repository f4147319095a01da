# store = "redis": one ElastiCache node that every instance shares. One node,
# no replica: like the lab's single Redis, it is the single point of failure
# of every session (a replication group with automatic failover is the
# production answer, at twice the cost). Plain redis:// inside the VPC, no
# AUTH: reachable only from the instances' security group.
resource "aws_elasticache_subnet_group" "sessions" {
  count      = var.store == "redis" ? 1 : 0
  name       = "stickylab-sessions"
  subnet_ids = aws_subnet.public[*].id
}

resource "aws_elasticache_cluster" "sessions" {
  count                = var.store == "redis" ? 1 : 0
  cluster_id           = "stickylab-sessions"
  engine               = "redis"
  engine_version       = "7.1"
  node_type            = "cache.t4g.micro"
  num_cache_nodes      = 1
  port                 = 6379
  parameter_group_name = "default.redis7"
  subnet_group_name    = aws_elasticache_subnet_group.sessions[0].name
  security_group_ids   = [aws_security_group.redis[0].id]
  apply_immediately    = true
}
