# The instances: Amazon Linux 2023 on Graviton, each fetching the stickylab
# binary from a private S3 bucket at boot and running `stickylab app` under
# systemd. No registry publishes the binary; you build it (variables.tf,
# stickylab_binary) and Terraform uploads it.
data "aws_ssm_parameter" "al2023" {
  name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
}

# The key that signs the session cookie, the same on every instance (a
# session from one is valid on the others once Redis shares it). It is in
# the Terraform state and in the instances' user data: keep both private.
resource "random_password" "session_key" {
  length  = 48
  special = false
}

resource "aws_s3_bucket" "binary" {
  bucket_prefix = "stickylab-binary-"
  force_destroy = true
}

resource "aws_s3_bucket_public_access_block" "binary" {
  bucket                  = aws_s3_bucket.binary.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_object" "binary" {
  bucket = aws_s3_bucket.binary.id
  key    = "stickylab"
  source = var.stickylab_binary
  etag   = filemd5(var.stickylab_binary)
}

resource "aws_iam_role" "app" {
  name_prefix = "stickylab-app-"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ec2.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

# Read the one object, nothing else.
resource "aws_iam_role_policy" "app_binary" {
  name = "read-stickylab-binary"
  role = aws_iam_role.app.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = "s3:GetObject"
      Resource = "${aws_s3_bucket.binary.arn}/${aws_s3_object.binary.key}"
    }]
  })
}

resource "aws_iam_instance_profile" "app" {
  name_prefix = "stickylab-app-"
  role        = aws_iam_role.app.name
}

resource "aws_instance" "app" {
  count                  = var.instance_count
  ami                    = data.aws_ssm_parameter.al2023.value
  instance_type          = var.instance_type
  subnet_id              = aws_subnet.public[count.index % 2].id
  vpc_security_group_ids = [aws_security_group.app.id]
  iam_instance_profile   = aws_iam_instance_profile.app.name

  metadata_options {
    http_tokens   = "required"
    http_endpoint = "enabled"
  }

  user_data = templatefile("${path.module}/user-data.sh.tftpl", {
    bucket      = aws_s3_bucket.binary.id
    key         = aws_s3_object.binary.key
    name        = "app-${count.index + 1}"
    store       = var.store
    redis_url   = var.store == "redis" ? "redis://${aws_elasticache_cluster.sessions[0].cache_nodes[0].address}:6379/0" : ""
    session_key = random_password.session_key.result
  })
  # A new binary, store or key: new instances (the ALB moves their users).
  user_data_replace_on_change = true

  tags = {
    Name = "stickylab-app-${count.index + 1}"
  }

  depends_on = [aws_iam_role_policy.app_binary]
}
