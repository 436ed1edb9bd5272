/*
 * config.c - where the remote and its credentials come from.
 *
 * Resolution order (README, "Mounting"): values already in the config (mount
 * options, CLI flags) win; then the environment; then the AWS shared
 * credentials file; then defaults.  Secrets are copied around but never
 * formatted into a message: errors name the variable or file, not its value.
 */
#include "remote.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int remote_config_set(char **field, const char *value)
{
	char *copy = NULL;

	if (value) {
		copy = strdup(value);
		if (!copy)
			return -ENOMEM;
	}
	free(*field);
	*field = copy;
	return 0;
}

/* Set *field from the first non-empty environment variable of names (a
 * NULL-terminated list) when *field is still unset. */
static int from_env(char **field, const char *const *names)
{
	if (*field)
		return 0;
	for (; *names; names++) {
		const char *v = getenv(*names);

		if (v && *v)
			return remote_config_set(field, v);
	}
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
			 e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Read access key, secret and token of `profile` from the INI file at path.
 * A missing file is not an error (anonymous access may still work), nor is
 * a missing [default] section; but a profile named on purpose (`named`,
 * from AWS_PROFILE) that the file lacks is -ENOENT with one line naming
 * it, not a silent fall back to anonymous requests. */
static int read_credentials(struct remote_config *cfg, const char *path,
			    const char *profile, int named,
			    struct remote_error *err)
{
	FILE *f = NULL;
	char *line = NULL;
	char safe[128];
	size_t cap = 0;
	int in_section = 0, found = 0;
	int rc = 0;

	f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT && !named)
			return 0;
		if (errno == ENOENT)
			return remote_error_set(
				err, -ENOENT,
				"AWS_PROFILE '%s' not found: there is no "
				"credentials file %s",
				remote_printable(profile, safe, sizeof(safe)),
				path);
		return remote_error_set(err, -errno,
					"cannot read credentials file %s: %s",
					path, strerror(errno));
	}
	while (getline(&line, &cap, f) >= 0) {
		char *s = trim(line);
		char *eq;

		if (*s == '#' || *s == ';' || *s == '\0')
			continue;
		if (*s == '[') {
			char *end = strchr(s, ']');

			if (end)
				*end = '\0';
			in_section = strcmp(trim(s + 1), profile) == 0;
			found |= in_section;
			continue;
		}
		if (!in_section)
			continue;
		eq = strchr(s, '=');
		if (!eq)
			continue;
		*eq = '\0';
		s = trim(s);
		if (strcmp(s, "aws_access_key_id") == 0 && !cfg->access_key)
			rc = remote_config_set(&cfg->access_key, trim(eq + 1));
		else if (strcmp(s, "aws_secret_access_key") == 0 &&
			 !cfg->secret_key)
			rc = remote_config_set(&cfg->secret_key, trim(eq + 1));
		else if (strcmp(s, "aws_session_token") == 0 &&
			 !cfg->session_token)
			rc = remote_config_set(&cfg->session_token,
					       trim(eq + 1));
		if (rc)
			goto out;
	}
	if (!found && named)
		rc = remote_error_set(
			err, -ENOENT,
			"AWS_PROFILE '%s' not found: %s has no "
			"[%s] section",
			remote_printable(profile, safe, sizeof(safe)), path,
			safe);
out:
	free(line);
	fclose(f);
	return rc;
}

int remote_config_resolve(struct remote_config *cfg, struct remote_error *err)
{
	static const char *const remote_vars[] = {"ARTIFACT_REMOTE", NULL};
	static const char *const endpoint_vars[] = {"AWS_ENDPOINT_URL_S3",
						    "AWS_ENDPOINT_URL", NULL};
	static const char *const region_vars[] = {"AWS_REGION",
						  "AWS_DEFAULT_REGION", NULL};
	const char *profile = getenv("AWS_PROFILE");
	const char *credfile = getenv("AWS_SHARED_CREDENTIALS_FILE");
	const char *home = getenv("HOME");
	char path[4096];
	int rc;

	rc = from_env(&cfg->url, remote_vars);
	if (rc)
		return rc;
	if (!cfg->url) {
		const char *data = getenv("XDG_DATA_HOME");

		if (data && *data)
			snprintf(path, sizeof(path), "file://%s/artifactfs",
				 data);
		else if (home && *home)
			snprintf(path, sizeof(path),
				 "file://%s/.local/share/artifactfs", home);
		else
			return remote_error_set(err, -EINVAL,
						"no remote: set ARTIFACT_REMOTE "
						"or HOME");
		rc = remote_config_set(&cfg->url, path);
		if (rc)
			return rc;
	}
	if (strncmp(cfg->url, "s3://", 5) != 0)
		return 0;

	rc = from_env(&cfg->endpoint, endpoint_vars);
	if (rc == 0)
		rc = from_env(&cfg->region, region_vars);
	if (rc == 0 && !cfg->region)
		rc = remote_config_set(&cfg->region, "us-east-1");
	if (rc)
		return rc;

	/* Keys from the environment only as a pair, as the AWS SDKs do. */
	if (!cfg->access_key && !cfg->secret_key) {
		const char *id = getenv("AWS_ACCESS_KEY_ID");
		const char *secret = getenv("AWS_SECRET_ACCESS_KEY");
		const char *token = getenv("AWS_SESSION_TOKEN");

		if (id && *id && secret && *secret) {
			rc = remote_config_set(&cfg->access_key, id);
			if (rc == 0)
				rc = remote_config_set(&cfg->secret_key,
						       secret);
			if (rc == 0 && token && *token && !cfg->session_token)
				rc = remote_config_set(&cfg->session_token,
						       token);
			return rc;
		}
		if (id && *id)
			return remote_error_set(err, -EINVAL,
						"AWS_ACCESS_KEY_ID is set but "
						"AWS_SECRET_ACCESS_KEY is not");
	}
	if (cfg->access_key && cfg->secret_key)
		return 0;

	if (credfile && *credfile)
		snprintf(path, sizeof(path), "%s", credfile);
	else if (home && *home)
		snprintf(path, sizeof(path), "%s/.aws/credentials", home);
	else if (profile && *profile)
		return remote_error_set(err, -ENOENT,
					"AWS_PROFILE is set but there is no "
					"credentials file (set HOME or "
					"AWS_SHARED_CREDENTIALS_FILE)");
	else
		return 0;
	rc = read_credentials(cfg, path,
			      profile && *profile ? profile : "default",
			      profile && *profile, err);
	if (rc)
		return rc;
	if (cfg->access_key && !cfg->secret_key)
		return remote_error_set(err, -EINVAL,
					"%s has aws_access_key_id but no "
					"aws_secret_access_key",
					path);
	return 0;
}

void remote_config_clear(struct remote_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->url);
	free(cfg->endpoint);
	free(cfg->region);
	free(cfg->access_key);
	if (cfg->secret_key)
		explicit_bzero(cfg->secret_key, strlen(cfg->secret_key));
	free(cfg->secret_key);
	if (cfg->session_token)
		explicit_bzero(cfg->session_token, strlen(cfg->session_token));
	free(cfg->session_token);
	memset(cfg, 0, sizeof(*cfg));
}
