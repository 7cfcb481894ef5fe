/* The OpenAPI actions, one file per chapter of the API reference. */
#ifndef LE_ACTIONS_H
#define LE_ACTIONS_H

void le_actions_domain_register(void);
void le_actions_stream_register(void);
void le_actions_config_register(void);
void le_actions_notify_register(void);
void le_actions_pull_register(void);
void le_actions_car_register(void);
void le_actions_relay_register(void);
void le_actions_edge_register(void);
void le_actions_record_register(void);
void le_actions_recindex_register(void);
void le_actions_transcode_register(void);
void le_actions_snapshot_register(void);
void le_actions_caster_register(void);
void le_actions_caster_scene_register(void);
void le_actions_caster_prog_register(void);
void le_actions_caster_chan_register(void);
void le_actions_carousel_register(void);
void le_actions_cert_register(void);

static inline void le_actions_register_all(void)
{
    le_actions_domain_register();
    le_actions_stream_register();
    le_actions_config_register();
    le_actions_notify_register();
    le_actions_pull_register();
    le_actions_car_register();
    le_actions_relay_register();
    le_actions_edge_register();
    le_actions_record_register();
    le_actions_recindex_register();
    le_actions_transcode_register();
    le_actions_snapshot_register();
    le_actions_caster_register();
    le_actions_caster_scene_register();
    le_actions_caster_prog_register();
    le_actions_caster_chan_register();
    le_actions_carousel_register();
    le_actions_cert_register();
}

#endif
