package deploy_test

import "strings"

// schema is the argument names and nested blocks that a resource type (or a
// nested block) accepts.
type schema struct {
	args   string // space-separated argument names
	blocks map[string]schema
}

func (s schema) hasArg(name string) bool { return strings.Contains(" "+s.args+" ", " "+name+" ") }

// Nested blocks shared by the listener's default_action and a rule's action.
var (
	lbHealthCheck = schema{args: "enabled healthy_threshold interval matcher path port protocol timeout unhealthy_threshold"}
	lbAction      = schema{
		args: "type target_group_arn order",
		blocks: map[string]schema{
			"forward": {blocks: map[string]schema{
				"target_group": {args: "arn weight"},
				"stickiness":   {args: "duration enabled"},
			}},
			"redirect":       {args: "host path port protocol query status_code"},
			"fixed_response": {args: "content_type message_body status_code"},
		},
	}
)

// awsResources is the arguments of every resource type deploy/aws uses, as
// the Terraform AWS provider (v6) and random provider (v3) document them on
// each resource's page, arguments reference: written from those pages, not
// complete for the types with dozens of rarely used arguments, but never an
// argument the pages do not list. `region` is v6's per-resource region. A
// type used in deploy/aws and missing here fails the test: add it from its
// page.
var awsResources = map[string]schema{
	"aws_vpc": {args: "cidr_block instance_tenancy ipv4_ipam_pool_id ipv4_netmask_length ipv6_cidr_block " +
		"ipv6_ipam_pool_id ipv6_netmask_length ipv6_cidr_block_network_border_group enable_dns_support " +
		"enable_network_address_usage_metrics enable_dns_hostnames assign_generated_ipv6_cidr_block tags region"},
	"aws_internet_gateway": {args: "vpc_id tags region"},
	"aws_subnet": {args: "assign_ipv6_address_on_creation availability_zone availability_zone_id cidr_block " +
		"customer_owned_ipv4_pool enable_dns64 enable_lni_at_device_index enable_resource_name_dns_aaaa_record_on_launch " +
		"enable_resource_name_dns_a_record_on_launch ipv6_cidr_block ipv6_native map_customer_owned_ip_on_launch " +
		"map_public_ip_on_launch outpost_arn private_dns_hostname_type_on_launch vpc_id tags region"},
	"aws_route_table": {args: "vpc_id route propagating_vgws tags region"},
	"aws_route": {args: "route_table_id destination_cidr_block destination_ipv6_cidr_block destination_prefix_list_id " +
		"carrier_gateway_id core_network_arn egress_only_gateway_id gateway_id nat_gateway_id local_gateway_id " +
		"network_interface_id transit_gateway_id vpc_endpoint_id vpc_peering_connection_id region"},
	"aws_route_table_association": {args: "subnet_id gateway_id route_table_id region"},
	"aws_security_group":          {args: "description egress ingress name name_prefix revoke_rules_on_delete tags vpc_id region"},
	"aws_vpc_security_group_ingress_rule": {args: "cidr_ipv4 cidr_ipv6 description from_port ip_protocol prefix_list_id " +
		"referenced_security_group_id security_group_id tags to_port region"},
	"aws_vpc_security_group_egress_rule": {args: "cidr_ipv4 cidr_ipv6 description from_port ip_protocol prefix_list_id " +
		"referenced_security_group_id security_group_id tags to_port region"},
	"aws_lb": {
		args: "client_keep_alive customer_owned_ipv4_pool desync_mitigation_mode dns_record_client_routing_policy " +
			"drop_invalid_header_fields enable_cross_zone_load_balancing enable_deletion_protection enable_http2 " +
			"enable_tls_version_and_cipher_suite_headers enable_xff_client_port enable_waf_fail_open enable_zonal_shift " +
			"idle_timeout internal ip_address_type load_balancer_type name name_prefix security_groups " +
			"preserve_host_header subnets tags xff_header_processing_mode region",
		blocks: map[string]schema{
			"access_logs":     {args: "bucket enabled prefix"},
			"connection_logs": {args: "bucket enabled prefix"},
			"subnet_mapping":  {args: "subnet_id allocation_id ipv6_address private_ipv4_address"},
		},
	},
	"aws_lb_target_group": {
		args: "connection_termination deregistration_delay ip_address_type lambda_multi_value_headers_enabled " +
			"load_balancing_algorithm_type load_balancing_anomaly_mitigation load_balancing_cross_zone_enabled name " +
			"name_prefix port preserve_client_ip protocol protocol_version proxy_protocol_v2 slow_start tags " +
			"target_type vpc_id region",
		blocks: map[string]schema{
			"health_check": lbHealthCheck,
			"stickiness":   {args: "cookie_duration cookie_name enabled type"},
		},
	},
	"aws_lb_target_group_attachment": {args: "target_group_arn target_id availability_zone port region"},
	"aws_lb_listener": {
		args:   "alpn_policy certificate_arn load_balancer_arn port protocol ssl_policy tcp_idle_timeout_seconds tags region",
		blocks: map[string]schema{"default_action": lbAction},
	},
	"aws_lb_listener_rule": {
		args: "listener_arn priority tags region",
		blocks: map[string]schema{
			"action": lbAction,
			"condition": {blocks: map[string]schema{
				"host_header":         {args: "values"},
				"http_header":         {args: "http_header_name values"},
				"http_request_method": {args: "values"},
				"path_pattern":        {args: "values"},
				"query_string":        {args: "key value"},
				"source_ip":           {args: "values"},
			}},
		},
	},
	"aws_s3_bucket":                     {args: "bucket bucket_prefix force_destroy object_lock_enabled tags region"},
	"aws_s3_bucket_public_access_block": {args: "bucket block_public_acls block_public_policy ignore_public_acls restrict_public_buckets region"},
	"aws_s3_object": {args: "bucket key acl cache_control content content_base64 content_disposition content_encoding " +
		"content_language content_type etag force_destroy kms_key_id server_side_encryption source source_hash " +
		"storage_class tags region"},
	"aws_iam_role": {args: "assume_role_policy description force_detach_policies max_session_duration name name_prefix " +
		"path permissions_boundary tags"},
	"aws_iam_role_policy":      {args: "name name_prefix policy role"},
	"aws_iam_instance_profile": {args: "name name_prefix path role tags"},
	"aws_instance": {
		args: "ami associate_public_ip_address availability_zone disable_api_stop disable_api_termination ebs_optimized " +
			"iam_instance_profile instance_initiated_shutdown_behavior instance_type key_name monitoring private_ip " +
			"subnet_id tags user_data user_data_base64 user_data_replace_on_change vpc_security_group_ids region",
		blocks: map[string]schema{
			"metadata_options":  {args: "http_endpoint http_protocol_ipv6 http_put_response_hop_limit http_tokens instance_metadata_tags"},
			"root_block_device": {args: "delete_on_termination encrypted iops kms_key_id tags throughput volume_size volume_type"},
		},
	},
	"aws_elasticache_subnet_group": {args: "name description subnet_ids tags region"},
	"aws_elasticache_cluster": {args: "apply_immediately auto_minor_version_upgrade availability_zone az_mode cluster_id " +
		"engine engine_version final_snapshot_identifier ip_discovery maintenance_window network_type node_type " +
		"notification_topic_arn num_cache_nodes parameter_group_name port preferred_availability_zones " +
		"replication_group_id security_group_ids snapshot_arns snapshot_name snapshot_retention_limit " +
		"snapshot_window subnet_group_name tags transit_encryption_enabled region"},
	"random_password": {args: "length keepers lower min_lower min_numeric min_special min_upper numeric override_special special upper"},
}

// awsDataSources is the same for the data sources.
var awsDataSources = map[string]schema{
	"aws_availability_zones": {args: "all_availability_zones exclude_names exclude_zone_ids state region",
		blocks: map[string]schema{"filter": {args: "name values"}}},
	"aws_ssm_parameter": {args: "name with_decryption region"},
}

// Terraform's meta-arguments, which every resource and data block takes.
var (
	resourceMeta = schema{args: "count for_each depends_on provider",
		blocks: map[string]schema{"lifecycle": {args: "create_before_destroy prevent_destroy ignore_changes replace_triggered_by"}}}
	dataMeta = schema{args: "count for_each depends_on provider"}
)
