#!/usr/bin/env bash
# The object store as a host reaches it, with Debian's rclone: put before a program that uses `rclone` (hostS3.ts).
#   s3-preamble.sh ENDPOINT REGION PATH_STYLE [the program's own arguments...]   stdin: ACCESS_KEY\nSECRET_KEY\n...
# Reads the credentials (stdin's first two lines) and exports rclone's configuration (remote "coopctl", nothing in
# argv or a file); consumes its three arguments. bash's `read` takes no byte past its line, so what follows on stdin
# is the program's. AWS_CA_BUNDLE (set on some machines) breaks rclone. --s3-no-check-bucket: a key that may write
# objects need not be allowed to create (or list) buckets.
unset AWS_CA_BUNDLE
IFS= read -r RCLONE_CONFIG_COOPCTL_ACCESS_KEY_ID || { echo 'coopctl: no S3 credentials on stdin' >&2; exit 90; }
IFS= read -r RCLONE_CONFIG_COOPCTL_SECRET_ACCESS_KEY || { echo 'coopctl: no S3 credentials on stdin' >&2; exit 90; }
export RCLONE_CONFIG_COOPCTL_ACCESS_KEY_ID RCLONE_CONFIG_COOPCTL_SECRET_ACCESS_KEY
export RCLONE_CONFIG_COOPCTL_TYPE=s3 RCLONE_CONFIG_COOPCTL_PROVIDER=Other RCLONE_CONFIG_COOPCTL_ENV_AUTH=false
export RCLONE_CONFIG_COOPCTL_ENDPOINT="$1" RCLONE_CONFIG_COOPCTL_REGION="$2" RCLONE_CONFIG_COOPCTL_FORCE_PATH_STYLE="$3"
shift 3
rclone() {
  command rclone --config /dev/null -q --contimeout 10s --timeout 60s --low-level-retries 2 --s3-no-check-bucket "$@"
}
