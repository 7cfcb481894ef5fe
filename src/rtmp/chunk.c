/* placeholder */ typedef int le_placeholder_chunk_t;
