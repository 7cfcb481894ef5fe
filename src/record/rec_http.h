/* Recordings over the HTTP port (docs/RECORD.md, "Playing recordings"):
 *   GET|HEAD /record/{bucket}/{key}   a finished file under record_root
 * with Range (one range, 206/416), the domain's play auth and referer
 * rules, CORS (cors_origin), Content-Type by extension (flv, mp4, m3u8,
 * ts). Nothing else under the root is served: no .tmp file, no "..", no
 * directory listing. Files are sent with sendfile (evbuffer_add_file). */
#ifndef LE_RECORD_HTTP_H
#define LE_RECORD_HTTP_H

/* Adds the route (http/server.h). */
void le_rec_http_init(void);

#endif
