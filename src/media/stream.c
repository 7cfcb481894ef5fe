/* placeholder */ typedef int le_placeholder_stream_t;
