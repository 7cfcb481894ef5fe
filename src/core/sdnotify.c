/* placeholder */ typedef int le_placeholder_sdnotify_t;
