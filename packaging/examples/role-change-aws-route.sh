#!/bin/sh
# Example ha.on_role_change hook for AWS: when this gateway becomes its group's primary, point the VPC
# route table entries for the remote regions' subnets at this instance (a gratuitous ARP for the LAN
# virtual IP does not move anything in a VPC). meshgated runs it without a shell, as the meshgate user,
# with the new role and the group appended to the configured arguments:
#
#   ha:
#     on_role_change: [/usr/local/lib/meshgate/role-change-aws-route.sh, rtb-0123456789abcdef0, 10.20.0.0/16]
#     on_role_change_timeout: 20s
#
# argv: ROUTE_TABLE_ID CIDR... ROLE GROUP (also in MESHGATE_ROLE, MESHGATE_GROUP, MESHGATE_NODE,
# MESHGATE_TERM, MESHGATE_PRIMARY, MESHGATE_REASON). Needs the AWS CLI and an instance role allowed
# ec2:ReplaceRoute on that table; credentials come from the instance metadata service (IMDSv2).
# Only the new primary acts; a standby does nothing (the primary's replace-route wins).
set -eu

[ "$#" -ge 4 ] || { echo "usage: $0 ROUTE_TABLE_ID CIDR... ROLE GROUP" >&2; exit 64; }
table=$1
shift
role=${MESHGATE_ROLE:?}
group=${MESHGATE_GROUP:?}
[ "$role" = primary ] || exit 0

token=$(curl -fsS -m 2 -X PUT http://169.254.169.254/latest/api/token \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 60')
instance=$(curl -fsS -m 2 -H "X-aws-ec2-metadata-token: $token" \
    http://169.254.169.254/latest/meta-data/instance-id)

n=$(($# - 2))
while [ "$n" -gt 0 ]; do
    cidr=$1
    shift
    n=$((n - 1))
    aws ec2 replace-route --route-table-id "$table" --destination-cidr-block "$cidr" --instance-id "$instance"
    echo "meshgate hook: group $group: $cidr in $table now via $instance"
done
