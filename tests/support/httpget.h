/*
 * httpget: a minimal HTTP/1.0 GET on 127.0.0.1 for tests of our endpoints (no client library:
 * the point is what a scraper or a load balancer sees on the wire).
 */
#ifndef MNI_HTTPGET_H
#define MNI_HTTPGET_H

/* Returns the status code (-1 when nothing answered) and the body, malloc'd, in *body. */
int httpget(int port, const char *path, char **body);
/* A TCP port on 127.0.0.1 that was free a moment ago. */
int httpget_free_port(void);

#endif
