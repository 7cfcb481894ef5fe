/* placeholder */ typedef int le_placeholder_node_t;
